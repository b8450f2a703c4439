//! Compiled schemas: a flat list of nodes, children by index into it.

use regex_lite::Regex;
use serde_json::{Number, Value};

use super::formats::Format;

/// The JSON types of draft 4, as bits, in the order messages list them.
pub(super) const TYPE_NAMES: [&str; 7] =
    ["null", "boolean", "number", "integer", "string", "array", "object"];
pub(super) const NULL: u8 = 1;
pub(super) const BOOLEAN: u8 = 1 << 1;
pub(super) const NUMBER: u8 = 1 << 2;
pub(super) const INTEGER: u8 = 1 << 3;
pub(super) const STRING: u8 = 1 << 4;
pub(super) const ARRAY: u8 = 1 << 5;
pub(super) const OBJECT: u8 = 1 << 6;

/// The bit of a type name.
pub(super) fn type_bit(name: &str) -> Option<u8> {
    let i = TYPE_NAMES.iter().position(|n| *n == name)?;
    Some(1 << i)
}

/// One compiled schema.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// `$ref`: the node is its target (draft 4 ignores the siblings of `$ref`).
    pub(super) reference: Option<u32>,
    /// Allowed types as bits; 0 allows any.
    pub(super) types: u8,
    pub(super) enumeration: Option<Box<[Value]>>,
    pub(super) format: Option<Format>,
    pub(super) number: Option<Box<NumberRules>>,
    pub(super) string: Option<Box<StringRules>>,
    pub(super) array: Option<Box<ArrayRules>>,
    pub(super) object: Option<Box<ObjectRules>>,
    pub(super) all_of: Box<[u32]>,
    pub(super) any_of: Box<[u32]>,
    pub(super) one_of: Box<[u32]>,
    pub(super) not: Option<u32>,
}

#[derive(Debug)]
pub(super) struct Bound {
    pub(super) value: Number,
    pub(super) exclusive: bool,
}

#[derive(Debug, Default)]
pub(super) struct NumberRules {
    pub(super) minimum: Option<Bound>,
    pub(super) maximum: Option<Bound>,
    pub(super) multiple_of: Option<Number>,
}

#[derive(Debug, Default)]
pub(super) struct StringRules {
    pub(super) min_length: Option<usize>,
    pub(super) max_length: Option<usize>,
    pub(super) pattern: Option<Regex>,
}

#[derive(Debug, Default)]
pub(super) enum Items {
    #[default]
    Any,
    /// `items` as one schema: every item.
    Each(u32),
    /// `items` as an array: item by item; the rest as `additionalItems` says.
    Tuple(Box<[u32]>),
}

/// `additionalItems`, `additionalProperties`.
#[derive(Debug, Default)]
pub(super) enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Schema(u32),
}

#[derive(Debug, Default)]
pub(super) struct ArrayRules {
    pub(super) min_items: Option<usize>,
    pub(super) max_items: Option<usize>,
    pub(super) unique: bool,
    pub(super) items: Items,
    pub(super) additional: Additional,
}

#[derive(Debug)]
pub(super) enum Dependency {
    Properties(Box<[String]>),
    Schema(u32),
}

#[derive(Debug, Default)]
pub(super) struct ObjectRules {
    pub(super) min_properties: Option<usize>,
    pub(super) max_properties: Option<usize>,
    pub(super) required: Box<[String]>,
    pub(super) dependencies: Box<[(String, Dependency)]>,
    /// Sorted by name.
    pub(super) properties: Box<[(String, u32)]>,
    pub(super) pattern_properties: Box<[(Regex, u32)]>,
    pub(super) additional: Additional,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn type_bits_follow_the_names() {
        assert_eq!(type_bit("null"), Some(NULL));
        assert_eq!(type_bit("integer"), Some(INTEGER));
        assert_eq!(type_bit("object"), Some(OBJECT));
        assert_eq!(type_bit("strnig"), None);
    }
}
