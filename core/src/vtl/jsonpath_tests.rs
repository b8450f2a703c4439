//! The JSONPath evaluator on `serde_json` values.

use serde_json::json;

use super::jsonpath::{parse_path, select, Segment};
use crate::test_support::test;

fn doc() -> serde_json::Value {
    json!({
        "store": {
            "book": [
                {"title": "A", "price": 8.95, "tags": ["x"]},
                {"title": "B", "price": 12.99},
                {"title": "C", "price": 8.99, "isbn": "0-553"}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "a b": {"c.d": 1},
        "quote's": true,
        "empty": [],
        "nil": null
    })
}

#[test]
fn root_and_members() {
    let d = doc();
    assert_eq!(select(&d, "$").unwrap(), Some(d.clone()));
    assert_eq!(select(&d, "$.store.bicycle.color").unwrap(), Some(json!("red")));
    assert_eq!(select(&d, "$['a b']['c.d']").unwrap(), Some(json!(1)));
    assert_eq!(select(&d, "$[\"a b\"]").unwrap(), Some(json!({"c.d": 1})));
    assert_eq!(select(&d, r"$['quote\'s']").unwrap(), Some(json!(true)));
    assert_eq!(select(&d, "$.nil").unwrap(), Some(json!(null)));
    // Without `$`, the path reads from the root.
    assert_eq!(select(&d, "store.bicycle.price").unwrap(), Some(json!(19.95)));
}

#[test]
fn missing_paths_select_nothing() {
    let d = doc();
    assert_eq!(select(&d, "$.nope").unwrap(), None);
    assert_eq!(select(&d, "$.store.book[7]").unwrap(), None);
    assert_eq!(select(&d, "$.store.bicycle[0]").unwrap(), None);
    assert_eq!(select(&d, "$.store.bicycle.color.x").unwrap(), None);
}

#[test]
fn indexes() {
    let d = doc();
    assert_eq!(select(&d, "$.store.book[0].title").unwrap(), Some(json!("A")));
    assert_eq!(select(&d, "$.store.book[-1].title").unwrap(), Some(json!("C")));
    assert_eq!(select(&d, "$.store.book[-4]").unwrap(), None);
    assert_eq!(select(&d, "$.store.book[0].tags[0]").unwrap(), Some(json!("x")));
}

#[test]
fn wildcards_slices_and_descent_return_arrays() {
    let d = doc();
    assert_eq!(select(&d, "$.store.book[*].title").unwrap(), Some(json!(["A", "B", "C"])));
    assert_eq!(select(&d, "$.store.book.*.price").unwrap(), Some(json!([8.95, 12.99, 8.99])));
    assert_eq!(select(&d, "$.store.book[1:].title").unwrap(), Some(json!(["B", "C"])));
    assert_eq!(select(&d, "$.store.book[:-2].title").unwrap(), Some(json!(["A"])));
    assert_eq!(select(&d, "$..isbn").unwrap(), Some(json!(["0-553"])));
    assert_eq!(
        select(&d, "$..price").unwrap(),
        Some(json!([19.95, 8.95, 12.99, 8.99])),
        "pre-order; serde_json objects hold their keys sorted"
    );
    assert_eq!(select(&d, "$.empty[*]").unwrap(), Some(json!([])));
    assert_eq!(select(&d, "$..nothing").unwrap(), Some(json!([])));
    assert_eq!(select(&d, "$.store.bicycle.*").unwrap(), Some(json!(["red", 19.95])));
}

#[test]
fn parse_validates_paths() {
    assert_eq!(
        parse_path("$.a[0]['b c']").unwrap().segments,
        vec![Segment::Child("a".into()), Segment::Index(0), Segment::Child("b c".into())]
    );
    assert!(parse_path("$.a").unwrap().is_definite());
    assert!(!parse_path("$..a").unwrap().is_definite());
    for bad in ["", "$.", "$[", "$.a[x]", "$.a[?(@.b)]", "$.a..", "$x", "$['a'"] {
        assert!(parse_path(bad).is_err(), "{bad:?} should not parse");
    }
    assert!(select(&doc(), "$.a[").is_err());
}

#[test]
fn descent_over_a_large_document_is_bounded() {
    let wide = serde_json::Value::Array((0..2000).map(|i| json!({"a": [i, i, i]})).collect());
    // `$..a..*` would revisit every subtree from every ancestor; bounded by the visit cap.
    let r = select(&wide, "$..a");
    assert_eq!(r.unwrap().and_then(|v| v.as_array().map(Vec::len)), Some(2000));
}
