//! The template engine's values as the request validator reads them, so that a body parsed
//! once for templates is validated as it is. (Here rather than in `vtl` or `validate`, which do
//! not know each other.)

use std::ops::ControlFlow;

use crate::validate::{Instance, Kind};
use crate::vtl::Value;

impl Instance for Value {
    fn kind(&self) -> Kind<'_> {
        match self {
            Value::Bool(b) => Kind::Bool(*b),
            Value::Int(i) => Kind::Int(*i),
            Value::Float(f) => Kind::Float(*f),
            Value::Str(s) => Kind::Str(s),
            Value::List(_) => Kind::Array,
            Value::Map(_) => Kind::Object,
            Value::Null | Value::Input | Value::Util | Value::Loop(_) => Kind::Null,
        }
    }

    fn len(&self) -> usize {
        match self {
            Value::List(l) => l.items.len(),
            Value::Map(m) => m.len(),
            _ => 0,
        }
    }

    fn item(&self, index: usize) -> Option<&Value> {
        match self {
            Value::List(l) => l.items.get(index),
            _ => None,
        }
    }

    fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    fn for_each_member(
        &self,
        f: &mut dyn FnMut(&str, &Value) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Value::Map(m) = self {
            for (name, value) in m.iter() {
                f(name, value)?;
            }
        }
        ControlFlow::Continue(())
    }
}
