//! `core`'s top-level modules form layers: no module uses one that uses it back, directly or
//! through others (`text` at the bottom, `config` a leaf of serde types, `pipeline` on top). A
//! cycle is reported with the files that close it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)] mod tests { .. }` block.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules each module's code names as `crate::module`.
fn uses() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&src).ok())
        .filter_map(|rel| rel.components().next())
        .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|m| m != "lib" && m != "test_support")
        .collect();
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let name = rel.to_string_lossy();
        if name.ends_with("tests.rs") {
            continue;
        }
        let from = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let from = from.trim_end_matches(".rs").to_string();
        if !top.contains(&from) {
            continue;
        }
        let code = code(&std::fs::read_to_string(file).unwrap());
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let to: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if to != from && top.contains(&to) {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(name.to_string());
            }
        }
    }
    graph
}

/// A path of modules from `from` to `to`, if there is one.
fn path(
    graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in graph.get(from).map(|m| m.keys()).into_iter().flatten() {
        if next == to {
            return Some(vec![from.to_string(), to.to_string()]);
        }
        if seen.insert(next.clone()) {
            if let Some(mut rest) = path(graph, next, to, seen) {
                rest.insert(0, from.to_string());
                return Some(rest);
            }
        }
    }
    None
}

#[test]
fn top_level_modules_have_no_cycle() {
    let graph = uses();
    assert!(graph.contains_key("pipeline"), "the module graph was not read: {graph:?}");
    assert!(!graph.contains_key("text"), "text uses no other module: {:?}", graph.get("text"));
    let mut cycles = Vec::new();
    for (from, tos) in &graph {
        for (to, files) in tos {
            if let Some(back) = path(&graph, to, from, &mut BTreeSet::new()) {
                cycles.push(format!("{from} -> {} (in {files:?})", back.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}
