//! `reml.toml` at the repository root (the Reml runtime's plugin manifest, `docs/bridge.md`)
//! agrees with the library's own manifest (`plugin.toml`, `Manifest::bundled`) and with the
//! descriptor `describe --json` prints.

use std::collections::BTreeSet;
use std::path::Path;

use reml_process::bridge::Bridge;
use reml_process::{Manifest, Policy};
use serde_json::Value;

fn reml_toml() -> toml::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reml.toml");
    let text = std::fs::read_to_string(&path).expect("reml.toml at the repository root");
    toml::from_str(&text).expect("reml.toml parses")
}

fn strings(v: &toml::Value) -> BTreeSet<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|e| e.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn reml_toml_matches_the_manifest_and_describe() {
    let m = reml_toml();
    let bundled = Manifest::bundled();
    let project = &m["project"];
    assert_eq!(project["kind"].as_str(), Some("plugin"));
    assert_eq!(project["name"].as_str(), Some(bundled.package.as_str()));
    assert_eq!(project["version"].as_str(), Some(bundled.version.as_str()));
    assert_eq!(project["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));

    let caps = m["run"]["target"]["capabilities"]
        .as_array()
        .expect("[run.target] capabilities");
    assert_eq!(caps.len(), 1);
    let cap = &caps[0];
    assert_eq!(cap["id"].as_str(), Some("core.process"));
    assert_eq!(cap["stage"].as_str(), Some(bundled.stage.as_str()));
    let declared = strings(&cap["declared_effects"]);
    let manifest: BTreeSet<String> = bundled
        .effects
        .to_sorted_strings()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        declared, manifest,
        "declared_effects = plugin.toml's effects"
    );

    // `describe --json` without a policy: the built-in default policy.
    let policy = Policy::default_for_program(Path::new("/")).expect("default policy");
    let bridge = Bridge::with_policy(Some(policy), None).expect("bridge");
    let d: Value =
        serde_json::from_slice(&bridge.invoke("capability.describe", b"{}")).expect("JSON");
    let d = &d["ok"];
    assert_eq!(d["id"], "core.process");
    assert_eq!(d["stage"].as_str(), cap["stage"].as_str());
    let scope: BTreeSet<String> = d["effect_scope"]
        .as_array()
        .expect("effect_scope")
        .iter()
        .map(|e| e.as_str().expect("string").to_owned())
        .collect();
    // Every effect the capability can be installed with is declared; the declaration adds
    // only `security` (the policy layer's own effect, never in a policy's effect_scope).
    assert!(
        scope.is_subset(&declared),
        "{scope:?} not within {declared:?}"
    );
    let extra: Vec<&String> = declared.difference(&scope).collect();
    assert_eq!(extra, vec!["security"], "declared beyond describe");
}
