//! What the body validator reads of a JSON value, as a trait: request bodies arrive as
//! `serde_json::Value`, and the template engine has its own value type, which can be validated
//! as it is rather than converted.
//!
//! Also JSON equality (`enum`, `uniqueItems`: numbers by value, objects unordered) and JSON text
//! for messages, over any [`Instance`].

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;

use serde_json::Value;

/// What a JSON value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
    Array,
    Object,
}

/// A JSON value the validator can walk.
pub trait Instance {
    fn kind(&self) -> Kind<'_>;
    /// How many items an array has, or members an object has; 0 for anything else.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// An array's item.
    fn item(&self, index: usize) -> Option<&Self>;
    /// An object's member.
    fn member(&self, name: &str) -> Option<&Self>;
    /// Calls `f` with each member of an object, in the value's order, until `f` breaks.
    fn for_each_member(&self, f: &mut dyn FnMut(&str, &Self) -> ControlFlow<()>)
        -> ControlFlow<()>;
}

impl Instance for Value {
    fn kind(&self) -> Kind<'_> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Kind::Int(i),
                (None, Some(u)) => Kind::UInt(u),
                (None, None) => Kind::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Kind::Str(s),
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    fn len(&self) -> usize {
        match self {
            Value::Array(items) => items.len(),
            Value::Object(members) => members.len(),
            _ => 0,
        }
    }

    fn item(&self, index: usize) -> Option<&Value> {
        self.as_array()?.get(index)
    }

    fn member(&self, name: &str) -> Option<&Value> {
        self.as_object()?.get(name)
    }

    fn for_each_member(
        &self,
        f: &mut dyn FnMut(&str, &Value) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Value::Object(members) = self {
            for (name, value) in members {
                f(name, value)?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// A number, for comparisons.
#[derive(Debug, Clone, Copy)]
pub(super) enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Num {
    pub(super) fn of(kind: &Kind<'_>) -> Option<Num> {
        match *kind {
            Kind::Int(i) => Some(Num::Int(i)),
            Kind::UInt(u) => Some(Num::UInt(u)),
            Kind::Float(f) => Some(Num::Float(f)),
            _ => None,
        }
    }

    pub(super) fn of_json(n: &serde_json::Number) -> Num {
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Num::Int(i),
            (None, Some(u)) => Num::UInt(u),
            (None, None) => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    pub(super) fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(f) => f,
        }
    }

    /// The number as a whole number, if it is one.
    fn whole(self) -> Option<i128> {
        match self {
            Num::Int(i) => Some(i128::from(i)),
            Num::UInt(u) => Some(i128::from(u)),
            // Exact: a float this large is a whole number, and i128 holds it.
            Num::Float(f) if f.fract() == 0.0 && f.abs() < 1e38 => Some(f as i128),
            Num::Float(_) => None,
        }
    }

    /// Equal by value: `1 == 1.0`.
    pub(super) fn equals(self, other: Num) -> bool {
        match (self.whole(), other.whole()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.to_f64() == other.to_f64(),
            _ => false,
        }
    }

    /// As JSON writes it (`25`, `25.0`, `1e300`).
    pub(super) fn text(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::UInt(u) => u.to_string(),
            Num::Float(f) => match serde_json::Number::from_f64(f) {
                Some(n) => n.to_string(),
                None => f.to_string(),
            },
        }
    }
}

/// JSON equality of two instances.
pub(super) fn equals<I: Instance + ?Sized>(a: &I, b: &I) -> bool {
    match (a.kind(), b.kind()) {
        (Kind::Array, Kind::Array) => {
            a.len() == b.len()
                && (0..a.len()).all(|i| match (a.item(i), b.item(i)) {
                    (Some(x), Some(y)) => equals(x, y),
                    _ => false,
                })
        }
        (Kind::Object, Kind::Object) => {
            a.len() == b.len()
                && a.for_each_member(&mut |name, x| match b.member(name) {
                    Some(y) if equals(x, y) => ControlFlow::Continue(()),
                    _ => ControlFlow::Break(()),
                })
                .is_continue()
        }
        (x, y) => scalars_equal(&x, &y),
    }
}

/// JSON equality of an instance and a schema's value (`enum`).
pub(super) fn equals_value<I: Instance + ?Sized>(a: &I, b: &Value) -> bool {
    match (a.kind(), b) {
        (Kind::Array, Value::Array(items)) => {
            a.len() == items.len()
                && items
                    .iter()
                    .enumerate()
                    .all(|(i, y)| a.item(i).is_some_and(|x| equals_value(x, y)))
        }
        (Kind::Object, Value::Object(members)) => {
            a.len() == members.len()
                && members
                    .iter()
                    .all(|(name, y)| a.member(name).is_some_and(|x| equals_value(x, y)))
        }
        (x, y) => scalars_equal(&x, &y.kind()),
    }
}

fn scalars_equal(a: &Kind<'_>, b: &Kind<'_>) -> bool {
    match (a, b) {
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Str(x), Kind::Str(y)) => x == y,
        _ => match (Num::of(a), Num::of(b)) {
            (Some(x), Some(y)) => x.equals(y),
            _ => false,
        },
    }
}

/// Whether an array has two equal items: items whose hashes (which agree with [`equals`]) are
/// equal are compared. Small arrays hash with a fast hash; large ones with SipHash, whose
/// collisions a body cannot be made of to slow down the comparisons.
pub(super) fn has_duplicates<I: Instance + ?Sized>(array: &I) -> bool {
    let len = array.len();
    let mut hashed: Vec<(u64, &I)> = if len <= 32 {
        (0..len).filter_map(|i| array.item(i)).map(|item| (hash_of::<Fx, _>(item), item)).collect()
    } else {
        let items = (0..len).filter_map(|i| array.item(i));
        items.map(|item| (hash_of::<DefaultHasher, _>(item), item)).collect()
    };
    hashed.sort_unstable_by_key(|(hash, _)| *hash);
    hashed.chunk_by(|(a, _), (b, _)| a == b).any(|run| {
        run.iter()
            .enumerate()
            .any(|(i, (_, x))| run.iter().skip(i + 1).any(|(_, y)| equals(*x, *y)))
    })
}

/// A hash under which equal instances (by [`equals`]) hash alike.
fn hash_of<H: Hasher + Default, I: Instance + ?Sized>(value: &I) -> u64 {
    let mut hasher = H::default();
    let kind = value.kind();
    match kind {
        Kind::Null => 0u8.hash(&mut hasher),
        Kind::Bool(b) => (1u8, b).hash(&mut hasher),
        Kind::Str(s) => (2u8, s).hash(&mut hasher),
        Kind::Array => {
            3u8.hash(&mut hasher);
            for i in 0..value.len() {
                value.item(i).map(hash_of::<H, I>).hash(&mut hasher);
            }
        }
        Kind::Object => {
            // Members in any order: a sum of per-member hashes.
            let mut sum = 0u64;
            let _ = value.for_each_member(&mut |name, member| {
                let mut h = H::default();
                (name, hash_of::<H, I>(member)).hash(&mut h);
                sum = sum.wrapping_add(h.finish());
                ControlFlow::Continue(())
            });
            (4u8, sum).hash(&mut hasher);
        }
        Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) => {
            match Num::of(&kind).and_then(Num::whole) {
                Some(whole) => (5u8, whole).hash(&mut hasher),
                None => (6u8, Num::of(&kind).map(|n| n.to_f64().to_bits())).hash(&mut hasher),
            }
        }
    }
    hasher.finish()
}

/// FxHash (rustc's): fast, and fine where collisions cost little.
#[derive(Default)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.iter_mut().zip(chunk).for_each(|(w, b)| *w = *b);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An instance as JSON text, for messages.
pub(super) fn to_json<I: Instance + ?Sized>(value: &I) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json<I: Instance + ?Sized>(value: &I, out: &mut String) {
    let kind = value.kind();
    match kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Kind::Str(s) => out.push_str(&quote(s)),
        Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) => {
            if let Some(n) = Num::of(&kind) {
                out.push_str(&n.text());
            }
        }
        Kind::Array => {
            out.push('[');
            for i in 0..value.len() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(item) = value.item(i) {
                    write_json(item, out);
                }
            }
            out.push(']');
        }
        Kind::Object => {
            out.push('{');
            let mut first = true;
            let _ = value.for_each_member(&mut |name, member| {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&quote(name));
                out.push(':');
                write_json(member, out);
                ControlFlow::Continue(())
            });
            out.push('}');
        }
    }
}

/// A string as a JSON string.
pub(super) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}
