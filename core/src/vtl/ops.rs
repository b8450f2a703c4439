//! Operators as Velocity 1.7 applies them: equality across types, numeric comparison,
//! arithmetic that widens instead of overflowing, and `+` as string concatenation.

use std::cmp::Ordering;

use super::ast::BinOp;
use super::convert::{push, to_text};
use super::value::Value;
use super::RenderError;

/// Applies a binary operator other than `&&`/`||` (those short-circuit in the evaluator).
pub(crate) fn binary(op: BinOp, left: &Value, right: &Value) -> Result<Value, RenderError> {
    Ok(match op {
        BinOp::Eq => Value::Bool(equal(left, right)),
        BinOp::Ne => Value::Bool(!equal(left, right)),
        BinOp::Lt => Value::Bool(compare(left, right) == Some(Ordering::Less)),
        BinOp::Gt => Value::Bool(compare(left, right) == Some(Ordering::Greater)),
        BinOp::Le => {
            Value::Bool(matches!(compare(left, right), Some(Ordering::Less | Ordering::Equal)))
        }
        BinOp::Ge => {
            Value::Bool(matches!(compare(left, right), Some(Ordering::Greater | Ordering::Equal)))
        }
        BinOp::Add if is_text(left) || is_text(right) => concat(left, right)?,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
            arithmetic(op, left, right)
        }
        BinOp::And => Value::Bool(left.truthy() && right.truthy()),
        BinOp::Or => Value::Bool(left.truthy() || right.truthy()),
    })
}

fn is_text(v: &Value) -> bool {
    matches!(v, Value::Str(_))
}

/// `"a" + x`: both printed and joined; null on either side gives null.
fn concat(left: &Value, right: &Value) -> Result<Value, RenderError> {
    if left.is_null() || right.is_null() {
        return Ok(Value::Null);
    }
    let mut out = to_text(left)?;
    push(&mut out, &to_text(right)?)?;
    Ok(Value::str(out))
}

/// Unary minus on a number; null for anything else.
pub(crate) fn negate(v: &Value) -> Value {
    match v {
        Value::Int(i) => i.checked_neg().map_or(Value::Float(-(*i as f64)), Value::Int),
        Value::Float(f) => Value::Float(-f),
        _ => Value::Null,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Integer arithmetic stays integral (division truncates) and widens to floating point on
/// overflow; dividing by zero, or a non-number operand, gives null.
fn arithmetic(op: BinOp, left: &Value, right: &Value) -> Value {
    if let (Value::Int(a), Value::Int(b)) = (left, right) {
        let exact = match op {
            BinOp::Add => a.checked_add(*b),
            BinOp::Sub => a.checked_sub(*b),
            BinOp::Mul => a.checked_mul(*b),
            BinOp::Div if *b == 0 => return Value::Null,
            BinOp::Div => a.checked_div(*b),
            BinOp::Mod if *b == 0 => return Value::Null,
            BinOp::Mod => a.checked_rem(*b),
            _ => None,
        };
        if let Some(n) = exact {
            return Value::Int(n);
        }
    }
    let (Some(a), Some(b)) = (as_f64(left), as_f64(right)) else { return Value::Null };
    match op {
        BinOp::Add => Value::Float(a + b),
        BinOp::Sub => Value::Float(a - b),
        BinOp::Mul => Value::Float(a * b),
        BinOp::Div if b == 0.0 => Value::Null,
        BinOp::Div => Value::Float(a / b),
        BinOp::Mod if b == 0.0 => Value::Null,
        BinOp::Mod => Value::Float(a % b),
        _ => Value::Null,
    }
}

/// Velocity 1.7 `==`: null equals only null; numbers compare by value; values of one kind
/// compare by content; values of different kinds compare by their printed text.
pub(crate) fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            as_f64(left) == as_f64(right)
        }
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            a.items.len() == b.items.len()
                && a.items.iter().zip(b.items.iter()).all(|(x, y)| equal(x, y))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => match (to_text(left), to_text(right)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
    }
}

/// Ordering of two numbers; `None` (the comparison is false) for anything else.
pub(crate) fn compare(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        _ => as_f64(left)?.partial_cmp(&as_f64(right)?),
    }
}
