//! Reading one or several `--policy` files (`docs/policy.md`): each further file narrows
//! the ones before.

use std::path::{Path, PathBuf};

use reml_process::policy::{verify_capability_security, Policy, Review};
use reml_process::Severity;

/// The policy file's error line, naming the file once (`FILE: line L, column C: ...`).
pub fn read(path: &Path) -> Result<Policy, String> {
    Policy::from_path(path).map_err(|e| {
        let message = e.to_string();
        if message.starts_with(&path.display().to_string()) {
            message
        } else {
            format!("{}: {message}", path.display())
        }
    })
}

/// Every file read, in order, then narrowed: `paths[0]` narrowed by each later one.
///
/// # Errors
/// The first file that cannot be read or parsed (its error line).
pub fn read_all(paths: &[PathBuf]) -> Result<(Vec<Policy>, Policy), String> {
    let mut each = Vec::with_capacity(paths.len());
    for p in paths {
        each.push(read(p)?);
    }
    let narrowed = narrow_all(&each).ok_or_else(|| "no policy file".to_owned())?;
    Ok((each, narrowed))
}

/// The narrowing of `policies` in order; `None` when there is none.
pub fn narrow_all(policies: &[Policy]) -> Option<Policy> {
    let (first, rest) = policies.split_first()?;
    Some(rest.iter().fold(first.clone(), |acc, p| acc.narrow(p)))
}

/// What is shown for the policy files in messages and in `describe`: `a.toml` or
/// `a.toml + b.toml`.
pub fn shown(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The error findings of `review`, one line.
fn errors_of(review: &Review) -> Vec<String> {
    review
        .findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} ({}: {})", f.code, f.entry, f.message))
        .collect()
}

/// The files read and narrowed, refused when any file, or their combination, fails the
/// security review (what `run` and `check` install).
///
/// # Errors
/// A read or parse error, or the review errors, in one line naming the file(s).
pub fn load_reviewed(paths: &[PathBuf]) -> Result<Policy, String> {
    let (each, narrowed) = read_all(paths)?;
    for (path, policy) in paths.iter().zip(&each) {
        let errors = errors_of(&verify_capability_security(policy));
        if !errors.is_empty() {
            return Err(format!(
                "{}: the policy fails the security review: {}",
                path.display(),
                errors.join("; ")
            ));
        }
    }
    if each.len() > 1 {
        let errors = errors_of(&verify_capability_security(&narrowed));
        if !errors.is_empty() {
            return Err(format!(
                "{}: the narrowed policy fails the security review: {}",
                shown(paths),
                errors.join("; ")
            ));
        }
    }
    Ok(narrowed)
}
