//! `include/reml_process.h` declares exactly the functions `src/lib.rs` exports, with the
//! same signatures (parameter and return types, mapped Rust → C), so the header cannot drift.

use std::collections::BTreeMap;

/// Whitespace collapsed, `*` spaced alike: `char *` and `char*` compare equal.
fn norm(s: &str) -> String {
    s.replace('*', " * ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn rust_to_c(ty: &str) -> String {
    let ty = ty.trim();
    let c = match ty {
        "*const c_char" => "const char *",
        "*mut c_char" => "char *",
        "*mut *mut c_char" => "char * *",
        "*mut RemlProcessBridge" => "reml_process_bridge *",
        "" | "()" => "void",
        other => panic!("no C type known for the Rust type `{other}`: extend the test"),
    };
    norm(c)
}

/// name → (return type, parameter types) from `pub unsafe extern "C" fn` items.
fn rust_signatures(src: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut rest = src;
    while let Some(i) = rest.find("pub unsafe extern \"C\" fn ") {
        rest = &rest[i + "pub unsafe extern \"C\" fn ".len()..];
        let open = rest.find('(').expect("(");
        let name = rest[..open].trim().to_owned();
        let close = rest.find(')').expect(")");
        let params = rest[open + 1..close]
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| rust_to_c(p.split_once(':').expect("name: type").1))
            .collect();
        let brace = rest.find('{').expect("{");
        let ret = rest[close + 1..brace]
            .trim()
            .strip_prefix("->")
            .unwrap_or("")
            .to_owned();
        out.insert(name, (rust_to_c(&ret), params));
        rest = &rest[brace..];
    }
    out
}

/// name → (return type, parameter types) from the header's prototypes.
fn header_signatures(h: &str) -> BTreeMap<String, (String, Vec<String>)> {
    // Drop comments, then read each `...;` statement that declares a function.
    let mut text = String::new();
    let mut rest = h;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = &rest[i + 2..];
        rest = &rest[rest.find("*/").expect("*/") + 2..];
    }
    text.push_str(rest);
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeMap::new();
    for stmt in text.split(';') {
        let stmt = stmt.trim();
        let Some(open) = stmt.find('(') else { continue };
        if stmt.starts_with("typedef") || !stmt.contains("reml_process_") {
            continue;
        }
        let head = &stmt[..open];
        let name_at = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = head[name_at..].to_owned();
        let ret = norm(&head[..name_at]);
        let close = stmt.rfind(')').expect(")");
        let params = stmt[open + 1..close]
            .split(',')
            .map(|p| {
                let p = p.trim();
                // Drop the parameter name (the last identifier).
                let cut = p
                    .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map_or(0, |i| i + 1);
                norm(&p[..cut])
            })
            .filter(|p| !p.is_empty() && p != "void")
            .collect();
        out.insert(name, (ret, params));
    }
    out
}

#[test]
fn header_matches_the_rust_signatures() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let src = std::fs::read_to_string(format!("{dir}/src/lib.rs")).expect("lib.rs");
    let header = std::fs::read_to_string(format!("{dir}/include/reml_process.h")).expect("header");
    let rust = rust_signatures(&src);
    let c = header_signatures(&header);
    assert_eq!(rust.len(), 4, "the four functions of the C ABI: {rust:?}");
    assert_eq!(rust, c, "header and Rust signatures differ");
    assert!(header.contains("typedef struct reml_process_bridge reml_process_bridge;"));
}
