//! The values a template computes with: Java-like scalars, lists and insertion-ordered maps.
//! Containers are shared copy-on-write (`Rc`), so copying a value is cheap and assigning it
//! never aliases. Each container knows its nesting depth, capped at [`MAX_VALUE_DEPTH`], so
//! printing, comparing and dropping a value never recurses without bound.

use std::collections::HashMap;
use std::rc::Rc;

use super::{RenderError, MAX_VALUE_DEPTH};

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<List>),
    Map(Rc<Map>),
    /// `$input`.
    Input,
    /// `$util`.
    Util,
    /// `$foreach` of the innermost loop.
    Loop(LoopInfo),
}

/// Where the innermost `#foreach` is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopInfo {
    pub(crate) index: usize,
    pub(crate) has_next: bool,
}

/// A list. `json` marks a list read from JSON: it prints as JSON text, as on API Gateway.
#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    pub(crate) items: Vec<Value>,
    pub(crate) json: bool,
    depth: usize,
}

/// An insertion-ordered map with string keys; a header map compares keys case-insensitively.
/// Past [`INDEX_FROM`] entries a hash index keeps lookups constant-time, so a JSON body with
/// many members costs linear time to read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Map {
    entries: Vec<(String, Value)>,
    case_insensitive: bool,
    depth: usize,
    index: Option<HashMap<String, usize>>,
}

/// Size from which a map keeps a hash index.
const INDEX_FROM: usize = 16;

fn check_depth(depth: usize) -> Result<usize, RenderError> {
    if depth > MAX_VALUE_DEPTH {
        Err(RenderError::TooDeep)
    } else {
        Ok(depth)
    }
}

impl Value {
    pub(crate) fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    /// A list value; refused when nested too deep.
    pub(crate) fn list(items: Vec<Value>, json: bool) -> Result<Value, RenderError> {
        let depth = check_depth(1 + items.iter().map(Value::depth).max().unwrap_or(0))?;
        Ok(Value::List(Rc::new(List { items, json, depth })))
    }

    /// A map value from a built map.
    pub(crate) fn map(map: Map) -> Value {
        Value::Map(Rc::new(map))
    }

    pub(crate) fn depth(&self) -> usize {
        match self {
            Value::List(l) => l.depth,
            Value::Map(m) => m.depth,
            _ => 0,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Velocity 1.7: only null and false are false.
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Records that a child of this container now nests `child_depth` deep.
    pub(crate) fn note_child_depth(&mut self, child_depth: usize) -> Result<(), RenderError> {
        let depth = check_depth(child_depth + 1)?;
        match self {
            Value::List(l) => {
                let l = Rc::make_mut(l);
                l.depth = l.depth.max(depth);
            }
            Value::Map(m) => {
                let m = Rc::make_mut(m);
                m.depth = m.depth.max(depth);
            }
            _ => {}
        }
        Ok(())
    }

    /// The child at `key` (a map key, or a list index), for changing it in place.
    pub(crate) fn child_mut(&mut self, key: &Value) -> Option<&mut Value> {
        match (self, key) {
            (Value::Map(m), key) => Rc::make_mut(m).get_mut(&key_string(key)),
            (Value::List(l), Value::Int(i)) => {
                let l = Rc::make_mut(l);
                let index = list_index(l.items.len(), *i)?;
                l.items.get_mut(index)
            }
            _ => None,
        }
    }
}

/// A map key written as a value: strings as they are, anything else as it prints.
pub(crate) fn key_string(key: &Value) -> String {
    match key {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        other => super::convert::to_text(other).unwrap_or_default(),
    }
}

/// A list index as Java would accept it (non-negative, in range).
pub(crate) fn list_index(len: usize, index: i64) -> Option<usize> {
    usize::try_from(index).ok().filter(|&i| i < len)
}

impl List {
    /// Appends an item; refused when nested too deep.
    pub(crate) fn push(&mut self, item: Value) -> Result<(), RenderError> {
        self.depth = self.depth.max(check_depth(item.depth() + 1)?);
        self.items.push(item);
        Ok(())
    }

    /// Inserts an item at `index` (`index == len` appends); `false` when out of range.
    pub(crate) fn insert(&mut self, index: usize, item: Value) -> Result<bool, RenderError> {
        if index > self.items.len() {
            return Ok(false);
        }
        self.depth = self.depth.max(check_depth(item.depth() + 1)?);
        self.items.insert(index, item);
        Ok(true)
    }

    /// Replaces the item at `index`, giving back the old one.
    pub(crate) fn set(&mut self, index: usize, item: Value) -> Result<Option<Value>, RenderError> {
        let depth = check_depth(item.depth() + 1)?;
        let Some(slot) = self.items.get_mut(index) else { return Ok(None) };
        self.depth = self.depth.max(depth);
        Ok(Some(std::mem::replace(slot, item)))
    }
}

impl Map {
    pub(crate) fn new(case_insensitive: bool) -> Map {
        Map { entries: Vec::new(), case_insensitive, depth: 1, index: None }
    }

    /// The index key of `key`.
    fn normalize(&self, key: &str) -> String {
        if self.case_insensitive {
            key.to_ascii_lowercase()
        } else {
            key.to_string()
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            return if self.case_insensitive {
                index.get(&key.to_ascii_lowercase()).copied()
            } else {
                index.get(key).copied()
            };
        }
        if self.case_insensitive {
            self.entries.iter().position(|(k, _)| k.eq_ignore_ascii_case(key))
        } else {
            self.entries.iter().position(|(k, _)| k == key)
        }
    }

    /// Rebuilds the index (when the map is large enough to keep one).
    fn reindex(&mut self) {
        self.index = None;
        if self.entries.len() >= INDEX_FROM {
            let index =
                self.entries.iter().enumerate().map(|(i, (k, _))| (self.normalize(k), i)).collect();
            self.index = Some(index);
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).and_then(|i| self.entries.get(i)).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.position(key)?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Sets `key`, keeping its place if present; gives back the old value.
    pub(crate) fn insert(
        &mut self,
        key: String,
        value: Value,
    ) -> Result<Option<Value>, RenderError> {
        self.depth = self.depth.max(check_depth(value.depth() + 1)?);
        match self.get_mut(&key) {
            Some(slot) => Ok(Some(std::mem::replace(slot, value))),
            None => {
                let normalized = self.index.is_some().then(|| self.normalize(&key));
                self.entries.push((key, value));
                match (&mut self.index, normalized) {
                    (Some(index), Some(k)) => {
                        index.insert(k, self.entries.len() - 1);
                    }
                    _ if self.entries.len() >= INDEX_FROM => self.reindex(),
                    _ => {}
                }
                Ok(None)
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let removed = self.entries.remove(i).1;
        if self.index.is_some() {
            self.reindex();
        }
        Some(removed)
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> Vec<Value> {
        self.entries.iter().map(|(k, _)| Value::str(k.as_str())).collect()
    }

    pub(crate) fn values(&self) -> Vec<Value> {
        self.entries.iter().map(|(_, v)| v.clone()).collect()
    }
}
