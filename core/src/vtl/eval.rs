//! Rendering a parsed template: walks the tree once per request, with a variable scope, the
//! `#foreach` stack, and the lazily built API Gateway objects.

use std::rc::Rc;

use super::ast::{Accessor, BinOp, Expr, Literal, Node, Reference};
use super::builtins::{util, Sources};
use super::convert::{push, write_text};
use super::methods::{self, is_mutator};
use super::ops;
use super::value::{key_string, List, LoopInfo, Map, Value};
use super::{Input, RenderError, MAX_DEPTH, MAX_FOREACH, MAX_RANGE, MAX_TOTAL_ITERATIONS};

/// Renders nodes for one request.
pub(crate) fn render(nodes: &[Node], input: &Input<'_>) -> Result<String, RenderError> {
    render_with_context(nodes, input).map(|(out, _)| out)
}

/// Renders nodes for one request, and gives back `$context` as the template left it (`None`
/// when the template set nothing in it).
pub(crate) fn render_with_context(
    nodes: &[Node],
    input: &Input<'_>,
) -> Result<(String, Option<Value>), RenderError> {
    let mut renderer = Renderer {
        sources: Sources::new(input),
        vars: Vars::default(),
        loops: Vec::new(),
        depth: 0,
        iterations: 0,
    };
    let mut out = String::new();
    renderer.render_nodes(nodes, &mut out)?;
    Ok((out, renderer.vars.remove("context")))
}

/// How rendering a block ended.
enum Flow {
    Normal,
    Break,
    Stop,
}

struct Renderer<'i> {
    sources: Sources<'i>,
    vars: Vars,
    loops: Vec<LoopInfo>,
    depth: usize,
    iterations: usize,
}

/// A template's variables. A template names few of them, so a list searched from the end (the
/// loop variable set last is read most) costs less than hashing every name read.
#[derive(Default)]
struct Vars(Vec<(String, Value)>);

impl Vars {
    fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().rposition(|(n, _)| n == name)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).and_then(|i| self.0.get(i)).map(|(_, v)| v)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        let i = self.position(name)?;
        self.0.get_mut(i).map(|(_, v)| v)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self.get_mut(&name) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.0.push((name, value));
                None
            }
        }
    }

    fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.position(name)?;
        Some(self.0.swap_remove(i).1)
    }
}

/// Where a `#foreach` takes its items from.
enum Items {
    List(Rc<List>),
    Values(Vec<Value>),
    Range { start: i64, step: i64 },
}

impl Renderer<'_> {
    /// Guards evaluation depth; the parser's limit makes this a second line of defence.
    fn enter(&mut self) -> Result<(), RenderError> {
        if self.depth >= 4 * MAX_DEPTH {
            return Err(RenderError::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    fn render_nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, RenderError> {
        self.enter()?;
        let flow = self.render_each(nodes, out);
        self.depth -= 1;
        flow
    }

    fn render_each(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, RenderError> {
        for node in nodes {
            match self.render_node(node, out)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn render_node(&mut self, node: &Node, out: &mut String) -> Result<Flow, RenderError> {
        match node {
            Node::Text(text) => push(out, text)?,
            Node::Ref { reference, escapes } => self.render_ref(reference, *escapes, out)?,
            Node::Set { target, value } => {
                let value = self.eval(value)?;
                // Velocity 1.7: assigning null leaves the target as it was.
                if !value.is_null() {
                    self.assign(target, value)?;
                }
            }
            Node::If { branches, otherwise } => {
                for (cond, body) in branches {
                    if self.eval(cond)?.truthy() {
                        return self.render_nodes(body, out);
                    }
                }
                return self.render_nodes(otherwise, out);
            }
            Node::Foreach { var, iterable, body } => return self.foreach(var, iterable, body, out),
            Node::Break => return Ok(Flow::Break),
            Node::Stop => return Ok(Flow::Stop),
        }
        Ok(Flow::Normal)
    }

    /// A reference in text: its value, or its source when null; Velocity's escape rules.
    fn render_ref(
        &mut self,
        r: &Reference,
        escapes: usize,
        out: &mut String,
    ) -> Result<(), RenderError> {
        let value = self.eval_ref(r)?;
        let printable = !matches!(value, Value::Null | Value::Input | Value::Util | Value::Loop(_));
        if printable {
            push(out, &"\\".repeat(escapes / 2))?;
            if escapes % 2 == 1 {
                push(out, &r.source)
            } else {
                write_text(out, &value)
            }
        } else {
            push(out, &"\\".repeat(escapes))?;
            if escapes > 0 || !r.quiet {
                push(out, &r.source)?;
            }
            Ok(())
        }
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &[Node],
        out: &mut String,
    ) -> Result<Flow, RenderError> {
        let (items, total) = match iterable {
            Expr::Range(from, to) => match (self.eval(from)?.as_int(), self.eval(to)?.as_int()) {
                (Some(a), Some(b)) => {
                    let span = usize::try_from(a.abs_diff(b)).unwrap_or(usize::MAX);
                    (
                        Items::Range { start: a, step: if b >= a { 1 } else { -1 } },
                        span.saturating_add(1),
                    )
                }
                _ => return Ok(Flow::Normal),
            },
            other => match self.eval(other)? {
                Value::List(l) => {
                    let len = l.items.len();
                    (Items::List(l), len)
                }
                Value::Map(m) => (Items::Values(m.values()), m.len()),
                _ => return Ok(Flow::Normal),
            },
        };
        let runs = total.min(MAX_FOREACH);
        let saved = self.vars.get(var).cloned();
        let mut flow = Flow::Normal;
        for index in 0..runs {
            self.iterations += 1;
            if self.iterations > MAX_TOTAL_ITERATIONS {
                return Err(RenderError::TooManyIterations);
            }
            let item = match &items {
                Items::List(list) => list.items.get(index).cloned().unwrap_or(Value::Null),
                Items::Values(list) => list.get(index).cloned().unwrap_or(Value::Null),
                Items::Range { start, step } => {
                    let offset = i64::try_from(index).unwrap_or(i64::MAX).saturating_mul(*step);
                    Value::Int(start.saturating_add(offset))
                }
            };
            if item.is_null() {
                self.vars.remove(var);
            } else if let Some(slot) = self.vars.get_mut(var) {
                *slot = item;
            } else {
                self.vars.insert(var.to_string(), item);
            }
            self.loops.push(LoopInfo { index, has_next: index + 1 < runs });
            let result = self.render_nodes(body, out);
            self.loops.pop();
            match result? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        match saved {
            Some(v) => self.vars.insert(var.to_string(), v),
            None => self.vars.remove(var),
        };
        Ok(flow)
    }

    fn eval(&mut self, expr: &Expr) -> Result<Value, RenderError> {
        self.enter()?;
        let value = self.eval_inner(expr);
        self.depth -= 1;
        value
    }

    fn eval_inner(&mut self, expr: &Expr) -> Result<Value, RenderError> {
        Ok(match expr {
            Expr::Literal(lit) => match lit {
                Literal::Null => Value::Null,
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Int(i) => Value::Int(*i),
                Literal::Float(f) => Value::Float(*f),
                Literal::Str(s) => Value::str(s.as_str()),
            },
            Expr::Interpolated(nodes) => {
                let mut text = String::new();
                self.render_nodes(nodes, &mut text)?;
                Value::str(text)
            }
            Expr::Ref(r) => self.eval_ref(r)?,
            Expr::List(items) => {
                let values = items.iter().map(|e| self.eval(e)).collect::<Result<Vec<_>, _>>()?;
                Value::list(values, false)?
            }
            Expr::Map(entries) => {
                let mut map = Map::new(false);
                for (k, v) in entries {
                    let key = key_string(&self.eval(k)?);
                    let value = self.eval(v)?;
                    map.insert(key, value)?;
                }
                Value::map(map)
            }
            Expr::Range(from, to) => match (self.eval(from)?.as_int(), self.eval(to)?.as_int()) {
                (Some(a), Some(b)) => {
                    if a.abs_diff(b) >= MAX_RANGE as u64 {
                        return Err(RenderError::RangeTooLarge);
                    }
                    let items: Vec<Value> = if a <= b {
                        (a..=b).map(Value::Int).collect()
                    } else {
                        (b..=a).rev().map(Value::Int).collect()
                    };
                    Value::list(items, false)?
                }
                _ => Value::Null,
            },
            Expr::Not(e) => Value::Bool(!self.eval(e)?.truthy()),
            Expr::Neg(e) => ops::negate(&self.eval(e)?),
            Expr::Binary(BinOp::And, l, r) => {
                Value::Bool(self.eval(l)?.truthy() && self.eval(r)?.truthy())
            }
            Expr::Binary(BinOp::Or, l, r) => {
                Value::Bool(self.eval(l)?.truthy() || self.eval(r)?.truthy())
            }
            Expr::Binary(op, l, r) => {
                let left = self.eval(l)?;
                let right = self.eval(r)?;
                ops::binary(*op, &left, &right)?
            }
        })
    }

    /// The value a reference's root names: loop variables, then `#set` variables, then API
    /// Gateway's objects.
    fn lookup_root(&mut self, name: &str) -> Result<Value, RenderError> {
        if let Some(l) = self.loops.last() {
            match name {
                "foreach" => return Ok(Value::Loop(*l)),
                "velocityCount" => return Ok(methods::property(&Value::Loop(*l), "count")),
                "velocityHasNext" => return Ok(Value::Bool(l.has_next)),
                _ => {}
            }
        }
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        Ok(match name {
            "input" => Value::Input,
            "util" => Value::Util,
            "context" => self.sources.context(),
            "stageVariables" => self.sources.stage_variables()?,
            _ => Value::Null,
        })
    }

    /// Makes `$context`/`$stageVariables` a variable before a template changes it.
    fn materialize(&mut self, root: &str) -> Result<bool, RenderError> {
        if self.vars.contains_key(root) {
            return Ok(true);
        }
        let value = match root {
            "context" => self.sources.context(),
            "stageVariables" => self.sources.stage_variables()?,
            _ => return Ok(false),
        };
        self.vars.insert(root.to_string(), value);
        Ok(true)
    }

    fn eval_ref(&mut self, r: &Reference) -> Result<Value, RenderError> {
        let mut parts = r.parts.as_slice();
        let mut value = match self.mutate_var(r)? {
            Some((value, rest)) => {
                parts = rest;
                value
            }
            None if r.root == "context" && !self.vars.contains_key("context") => {
                // `$context.a.b` reads the request's context where it is, without copying
                // all of it.
                let (value, rest) = self.sources.context_at(parts);
                parts = rest;
                value
            }
            None => self.lookup_root(&r.root)?,
        };
        for part in parts {
            if value.is_null() {
                return Ok(Value::Null);
            }
            value = match part {
                Accessor::Property(name) => match value {
                    Value::Input => self.sources.input_property(name),
                    _ => methods::property(&value, name),
                },
                Accessor::Index(e) => methods::index(&value, &self.eval(e)?),
                Accessor::Method(name, args) => {
                    let args = self.eval_args(args)?;
                    match value {
                        Value::Input => self.sources.input_method(name, &args)?,
                        Value::Util => util(name, &args)?,
                        _ => methods::call(&value, name, &args)?,
                    }
                }
            };
        }
        Ok(value)
    }

    fn eval_args(&mut self, args: &[Expr]) -> Result<Vec<Value>, RenderError> {
        args.iter().map(|e| self.eval(e)).collect()
    }

    /// `$var.a.b.put(k, v)` and other mutators reached through properties and indexes of a
    /// variable: changes the variable in place. Gives the method's result and the accessors
    /// after it, or `None` when the reference is not of that shape.
    fn mutate_var<'r>(
        &mut self,
        r: &'r Reference,
    ) -> Result<Option<(Value, &'r [Accessor])>, RenderError> {
        let Some(at) =
            r.parts.iter().position(|p| matches!(p, Accessor::Method(n, _) if is_mutator(n)))
        else {
            return Ok(None);
        };
        let (path, rest) = r.parts.split_at(at);
        let Some((Accessor::Method(name, args), rest)) = rest.split_first() else {
            return Ok(None);
        };
        if path.iter().any(|p| matches!(p, Accessor::Method(..))) || !self.materialize(&r.root)? {
            return Ok(None);
        }
        let keys = self.path_keys(path)?;
        let args = self.eval_args(args)?;
        let Some(root) = self.vars.get_mut(&r.root) else { return Ok(None) };
        let result =
            with_path_mut(root, &keys, &mut |target| methods::mutate(target, name, &args))?;
        Ok(result.map(|v| (v, rest)))
    }

    fn path_keys(&mut self, path: &[Accessor]) -> Result<Vec<Value>, RenderError> {
        path.iter()
            .map(|p| match p {
                Accessor::Property(name) => Ok(Value::str(name.as_str())),
                Accessor::Index(e) => self.eval(e),
                Accessor::Method(..) => Ok(Value::Null),
            })
            .collect()
    }

    /// `#set($x = v)`, `#set($x.a.b = v)`, `#set($x[i] = v)`.
    fn assign(&mut self, target: &Reference, value: Value) -> Result<(), RenderError> {
        let mut keys = self.path_keys(&target.parts)?;
        let Some(last) = keys.pop() else {
            self.vars.insert(target.root.clone(), value);
            return Ok(());
        };
        if !self.materialize(&target.root)? {
            return Ok(());
        }
        let Some(root) = self.vars.get_mut(&target.root) else { return Ok(()) };
        let mut value = Some(value);
        with_path_mut(root, &keys, &mut |parent| {
            let value = value.take().unwrap_or(Value::Null);
            let done = match (parent, &last) {
                (Value::Map(m), key) => Rc::make_mut(m).insert(key_string(key), value).map(|_| ()),
                (list @ Value::List(_), Value::Int(i)) => {
                    methods::mutate(list, "set", &[Value::Int(*i), value])
                        .map_or(Ok(()), |r| r.map(|_| ()))
                }
                _ => Ok(()),
            };
            Some(done.map(|()| Value::Null))
        })?;
        Ok(())
    }
}

/// Applies `f` to the value at `keys` under `value`, then raises the recorded depth of every
/// container on the way. `None` when the path does not exist or `f` does not apply.
fn with_path_mut(
    value: &mut Value,
    keys: &[Value],
    f: &mut dyn FnMut(&mut Value) -> Option<Result<Value, RenderError>>,
) -> Result<Option<Value>, RenderError> {
    let Some((key, rest)) = keys.split_first() else {
        return f(value).transpose();
    };
    let (result, child_depth) = {
        let Some(child) = value.child_mut(key) else { return Ok(None) };
        let result = with_path_mut(child, rest, f)?;
        (result, child.depth())
    };
    value.note_child_depth(child_depth)?;
    Ok(result)
}
