//! The slot + generation table behind [`ProcessHandle`](crate::ProcessHandle) and
//! [`ThreadHandle`](crate::thread::ThreadHandle): a handle names a slot and the generation
//! the slot had when the handle was issued. Removing an entry moves the slot's generation on,
//! so an old handle never reaches the slot's next occupant; a slot whose generation would
//! wrap is retired instead of reused, so no (slot, generation) pair is ever issued twice.

use std::sync::Arc;

/// Entries of type `E`, shared (`Arc`) with whoever looked them up.
pub(crate) struct HandleTable<E> {
    slots: Vec<Slot<E>>,
    /// Slots free for reuse (never a retired one).
    free: Vec<u32>,
}

struct Slot<E> {
    generation: u32,
    entry: Option<Arc<E>>,
}

impl<E> HandleTable<E> {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        HandleTable {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores the entry `make(slot, generation)` builds (it may embed its own handle) and
    /// returns it; `None` when all 2^32 slots are taken or retired.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(u32, u32) -> E) -> Option<Arc<E>> {
        let (slot, generation) = self.free_slot()?;
        let entry = Arc::new(make(slot, generation));
        self.slots[slot as usize].entry = Some(entry.clone());
        Some(entry)
    }

    /// Stores `entry` and returns its (slot, generation); gives `entry` back when all 2^32
    /// slots are taken or retired.
    pub(crate) fn insert(&mut self, entry: E) -> Result<(u32, u32), E> {
        let Some((slot, generation)) = self.free_slot() else {
            return Err(entry);
        };
        self.slots[slot as usize].entry = Some(Arc::new(entry));
        Ok((slot, generation))
    }

    /// A slot for a new entry (reused, or pushed) and its generation.
    fn free_slot(&mut self) -> Option<(u32, u32)> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                s
            }
        };
        Some((slot, self.slots[slot as usize].generation))
    }

    /// The entry at `slot` if it is still the one issued with `generation`.
    pub(crate) fn get(&self, slot: u32, generation: u32) -> Option<&Arc<E>> {
        self.slots
            .get(slot as usize)
            .filter(|s| s.generation == generation)?
            .entry
            .as_ref()
    }

    /// Takes the entry at `slot` out if it is still the one issued with `generation`; the
    /// slot's generation moves on (or the slot is retired).
    pub(crate) fn remove(&mut self, slot: u32, generation: u32) -> Option<Arc<E>> {
        let s = self.slots.get_mut(slot as usize)?;
        if s.generation != generation {
            return None;
        }
        let entry = s.entry.take()?;
        if let Some(next) = s.generation.checked_add(1) {
            s.generation = next;
            self.free.push(slot);
        }
        Some(entry)
    }

    /// Every live entry with its (slot, generation).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32, &Arc<E>)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i as u32, s.generation, s.entry.as_ref()?)))
    }

    /// Takes every live entry out (for a capability being dropped).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Arc<E>> + '_ {
        self.free.clear();
        self.slots.drain(..).filter_map(|s| s.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_entry_is_unreachable_by_its_old_handle() {
        let mut t = HandleTable::new();
        let a = t.insert_with(|s, g| (s, g)).unwrap();
        assert_eq!(*a, (0, 0));
        assert!(t.get(0, 0).is_some());
        assert!(t.remove(0, 0).is_some());
        assert!(t.get(0, 0).is_none());
        assert!(t.remove(0, 0).is_none());
        let b = t.insert_with(|s, g| (s, g)).unwrap();
        assert_eq!(*b, (0, 1), "the slot is reused with the next generation");
        assert!(t.get(0, 0).is_none());
        assert_eq!(t.iter().count(), 1);
    }

    #[test]
    fn a_slot_whose_generation_would_wrap_is_retired() {
        let mut t = HandleTable::new();
        t.insert_with(|s, g| (s, g)).unwrap();
        t.slots[0].generation = u32::MAX;
        assert!(t.remove(0, u32::MAX).is_some());
        let (slot, generation) = *t.insert_with(|s, g| (s, g)).unwrap();
        assert_eq!((slot, generation), (1, 0), "slot 0 is never issued again");
    }

    #[test]
    fn insert_issues_the_same_ids_as_insert_with() {
        let mut t = HandleTable::new();
        assert_eq!(t.insert("a"), Ok((0, 0)));
        assert_eq!(t.insert("b"), Ok((1, 0)));
        assert_eq!(t.remove(0, 0).as_deref(), Some(&"a"));
        assert_eq!(t.insert("c"), Ok((0, 1)));
        assert_eq!(t.get(0, 1).map(|e| **e), Some("c"));
    }
}
