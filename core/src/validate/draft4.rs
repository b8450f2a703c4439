//! The draft 4 validator: applies compiled schemas ([`Node`]s) to an [`Instance`].
//!
//! Validation first runs without collecting anything, stopping at the first failure: a valid
//! body costs no allocation. Only a failing body is validated again to collect its problems.
//! Keywords are checked in a fixed order, so the messages are the same from one request to the
//! next: a wrong `type` or a value not in `enum` is the only problem reported for that schema.

use std::ops::ControlFlow;

use super::instance::{equals_value, has_duplicates, to_json, Instance, Kind, Num};
use super::messages::{self as msg, Found, Step};
use super::node::{
    Additional, ArrayRules, Bound, Dependency, Items, Node, NumberRules, ObjectRules, StringRules,
    ARRAY, BOOLEAN, INTEGER, NULL, NUMBER, OBJECT, STRING, TYPE_NAMES,
};

/// How deeply validation may recurse (nodes applied within nodes). Bodies nest at most
/// [`super::MAX_DEPTH`] deep, and a schema does not apply itself twice to one value, so only a
/// pathological schema gets here; it is reported instead of exhausting the stack.
const MAX_FRAMES: usize = 1024;

/// Validation stopped: see [`MAX_FRAMES`].
pub(super) struct Endless;

/// How the validator got to a node: a chain on the stack, read only to report a problem's place
/// or to see a node applied again to the same value.
struct At<'a> {
    node: u32,
    step: Option<StepRef<'a>>,
    /// How deep in the instance.
    level: usize,
    parent: Option<&'a At<'a>>,
}

#[derive(Clone, Copy)]
enum StepRef<'a> {
    Item(usize),
    Prop(&'a str),
}

pub(super) struct Validator<'n> {
    nodes: &'n [Node],
    /// Collecting problems into `found`, or stopping at the first.
    collect: bool,
    pub(super) found: Vec<Found>,
    frames: usize,
}

impl<'n> Validator<'n> {
    pub(super) fn new(nodes: &'n [Node], collect: bool) -> Validator<'n> {
        Validator { nodes, collect, found: Vec::new(), frames: 0 }
    }

    /// Whether `instance` is valid against `node`.
    pub(super) fn run<I: Instance + ?Sized>(
        &mut self,
        node: u32,
        instance: &I,
    ) -> Result<bool, Endless> {
        self.check(&At { node, step: None, level: 0, parent: None }, instance)
    }

    fn report(&mut self, at: &At<'_>, message: impl FnOnce() -> String) {
        if !self.collect {
            return;
        }
        let mut steps = Vec::with_capacity(at.level);
        let mut frame = Some(at);
        while let Some(f) = frame {
            match f.step {
                Some(StepRef::Item(i)) => steps.push(Step::Item(i)),
                Some(StepRef::Prop(name)) => steps.push(Step::Prop(name.to_owned())),
                None => {}
            }
            frame = f.parent;
        }
        steps.reverse();
        let mut pointer = String::new();
        for step in &steps {
            pointer.push('/');
            match step {
                Step::Item(i) => pointer.push_str(&i.to_string()),
                Step::Prop(name) => pointer.push_str(&name.replace('~', "~0").replace('/', "~1")),
            }
        }
        self.found.push(Found { steps, issue: msg::Issue::new(pointer, message()) });
    }

    /// Applies `node` to the value `at` is at, as part of the same schema (`$ref`, `allOf`, ...).
    fn in_place<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        node: u32,
        instance: &I,
    ) -> Result<bool, Endless> {
        let mut frame = Some(at);
        while let Some(f) = frame.filter(|f| f.level == at.level) {
            if f.node == node {
                return self.endless(at);
            }
            frame = f.parent;
        }
        self.check(&At { node, step: None, level: at.level, parent: Some(at) }, instance)
    }

    /// Applies `node` to an item or member of the value `at` is at.
    fn descend<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        node: u32,
        step: StepRef<'_>,
        instance: &I,
    ) -> Result<bool, Endless> {
        self.check(&At { node, step: Some(step), level: at.level + 1, parent: Some(at) }, instance)
    }

    /// Applies `node` without collecting problems, however the validator runs.
    fn passes<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        node: u32,
        instance: &I,
    ) -> Result<bool, Endless> {
        let collect = std::mem::replace(&mut self.collect, false);
        let result = self.in_place(at, node, instance);
        self.collect = collect;
        result
    }

    fn endless(&mut self, at: &At<'_>) -> Result<bool, Endless> {
        self.collect = true;
        self.report(at, msg::endless);
        Err(Endless)
    }

    fn check<I: Instance + ?Sized>(&mut self, at: &At<'_>, instance: &I) -> Result<bool, Endless> {
        if self.frames >= MAX_FRAMES {
            return self.endless(at);
        }
        self.frames += 1;
        let result = self.check_node(at, instance);
        self.frames -= 1;
        result
    }

    fn check_node<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        instance: &I,
    ) -> Result<bool, Endless> {
        let nodes = self.nodes;
        let Some(node) = nodes.get(at.node as usize) else { return Ok(true) };
        if let Some(target) = node.reference {
            return self.in_place(at, target, instance);
        }
        let kind = instance.kind();
        if node.types != 0 && node.types & type_bits(&kind) == 0 {
            self.report(at, || {
                let allowed: Vec<&str> = TYPE_NAMES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| node.types & (1 << i) != 0)
                    .map(|(_, name)| *name)
                    .collect();
                msg::type_mismatch(type_name(&kind), &allowed)
            });
            return Ok(false);
        }
        if let Some(values) = &node.enumeration {
            if !values.iter().any(|v| equals_value(instance, v)) {
                self.report(at, || msg::not_in_enum(&to_json(instance), values));
                return Ok(false);
            }
        }
        let mut valid = true;
        if let (Some(format), Kind::Str(s)) = (node.format, kind) {
            if !format.accepts(s) {
                self.report(at, || msg::bad_format(s, format.name()));
                valid = false;
            }
        }
        if valid || self.collect {
            valid &= match kind {
                Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) => match &node.number {
                    Some(rules) => self.check_number(at, rules, &kind),
                    None => true,
                },
                Kind::Str(s) => match &node.string {
                    Some(rules) => self.check_string(at, rules, s),
                    None => true,
                },
                Kind::Array => match &node.array {
                    Some(rules) => self.check_array(at, rules, instance)?,
                    None => true,
                },
                Kind::Object => match &node.object {
                    Some(rules) => self.check_object(at, rules, instance)?,
                    None => true,
                },
                Kind::Null | Kind::Bool(_) => true,
            };
        }
        if valid || self.collect {
            valid &= self.check_combinators(at, node, instance)?;
        }
        Ok(valid)
    }

    fn check_number(&mut self, at: &At<'_>, rules: &NumberRules, kind: &Kind<'_>) -> bool {
        let Some(num) = Num::of(kind) else { return true };
        let n = num.to_f64();
        let mut valid = true;
        let bound = |b: &Bound| Num::of_json(&b.value).to_f64();
        for exclusive in [false, true] {
            if let Some(min) = rules.minimum.as_ref().filter(|b| b.exclusive == exclusive) {
                let low = bound(min);
                if exclusive && n <= low {
                    self.report(at, || msg::not_above_exclusive_minimum(&min.value.to_string()));
                    valid = false;
                } else if !exclusive && n < low {
                    self.report(at, || msg::below_minimum(&min.value.to_string(), &num.text()));
                    valid = false;
                }
            }
            if let Some(max) = rules.maximum.as_ref().filter(|b| b.exclusive == exclusive) {
                let high = bound(max);
                if exclusive && n >= high {
                    self.report(at, || msg::not_below_exclusive_maximum(&max.value.to_string()));
                    valid = false;
                } else if !exclusive && n > high {
                    self.report(at, || msg::above_maximum(&max.value.to_string(), &num.text()));
                    valid = false;
                }
            }
        }
        if let Some(divisor) = &rules.multiple_of {
            if !is_multiple(num, Num::of_json(divisor)) {
                self.report(at, || msg::not_multiple(&num.text(), &divisor.to_string()));
                valid = false;
            }
        }
        valid
    }

    fn check_string(&mut self, at: &At<'_>, rules: &StringRules, s: &str) -> bool {
        let mut valid = true;
        if rules.min_length.is_some() || rules.max_length.is_some() {
            let length = s.chars().count();
            if let Some(min) = rules.min_length.filter(|min| length < *min) {
                self.report(at, || msg::too_short(s, length, min));
                valid = false;
            }
            if let Some(max) = rules.max_length.filter(|max| length > *max) {
                self.report(at, || msg::too_long(s, length, max));
                valid = false;
            }
        }
        if let Some(pattern) = rules.pattern.as_ref().filter(|p| !p.is_match(s)) {
            self.report(at, || msg::pattern_mismatch(pattern.as_str(), s));
            valid = false;
        }
        valid
    }

    fn check_array<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        rules: &ArrayRules,
        array: &I,
    ) -> Result<bool, Endless> {
        let len = array.len();
        let mut valid = true;
        if let Some(min) = rules.min_items.filter(|min| len < *min) {
            self.report(at, || msg::too_few_items(len, min));
            valid = false;
        }
        if let Some(max) = rules.max_items.filter(|max| len > *max) {
            self.report(at, || msg::too_many_items(len, max));
            valid = false;
        }
        if rules.unique && len > 1 && has_duplicates(array) {
            self.report(at, msg::duplicate_items);
            valid = false;
        }
        if !valid && !self.collect {
            return Ok(false);
        }
        let (each, tuple): (Option<u32>, &[u32]) = match &rules.items {
            Items::Any => return Ok(valid),
            Items::Each(node) => (Some(*node), &[]),
            Items::Tuple(nodes) => (None, nodes),
        };
        for i in 0..len {
            let node = match (each, tuple.get(i)) {
                (Some(node), _) | (None, Some(&node)) => node,
                (None, None) => match rules.additional {
                    Additional::Schema(node) => node,
                    Additional::Allowed => break,
                    Additional::Forbidden => {
                        self.report(at, || msg::additional_items(len - i));
                        valid = false;
                        break;
                    }
                },
            };
            let Some(item) = array.item(i) else { break };
            valid &= self.descend(at, node, StepRef::Item(i), item)?;
            if !valid && !self.collect {
                return Ok(false);
            }
        }
        Ok(valid)
    }

    fn check_object<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        rules: &ObjectRules,
        object: &I,
    ) -> Result<bool, Endless> {
        let len = object.len();
        let mut valid = true;
        if let Some(min) = rules.min_properties.filter(|min| len < *min) {
            self.report(at, || msg::too_few_properties(len, min));
            valid = false;
        }
        if let Some(max) = rules.max_properties.filter(|max| len > *max) {
            self.report(at, || msg::too_many_properties(len, max));
            valid = false;
        }
        if !rules.required.is_empty() && !all_present(object, &rules.required) {
            self.report(at, || msg::missing_required(&missing(object, &rules.required)));
            valid = false;
        }
        if !valid && !self.collect {
            return Ok(false);
        }
        for (name, dependency) in rules.dependencies.iter() {
            if object.member(name).is_none() {
                continue;
            }
            match dependency {
                Dependency::Properties(required) => {
                    if !all_present(object, required) {
                        let missing = missing(object, required);
                        self.report(at, || msg::missing_dependencies(name, &missing));
                        valid = false;
                    }
                }
                Dependency::Schema(node) => valid &= self.in_place(at, *node, object)?,
            }
            if !valid && !self.collect {
                return Ok(false);
            }
        }
        let mut outcome = Ok(());
        let mut forbidden: Vec<String> = Vec::new();
        let _ = object.for_each_member(&mut |name, value| {
            let mut apply = |node: u32, this: &mut Self| {
                this.descend(at, node, StepRef::Prop(name), value).map(|ok| valid &= ok)
            };
            let mut evaluated = false;
            if let Some(node) = property_node(&rules.properties, name) {
                evaluated = true;
                outcome = apply(node, self);
            }
            for (regex, node) in rules.pattern_properties.iter() {
                if outcome.is_ok() && regex.is_match(name) {
                    evaluated = true;
                    outcome = apply(*node, self);
                }
            }
            if !evaluated && outcome.is_ok() {
                match rules.additional {
                    Additional::Allowed => {}
                    Additional::Forbidden => {
                        forbidden.push(name.to_owned());
                        valid = false;
                    }
                    Additional::Schema(node) => outcome = apply(node, self),
                }
            }
            if outcome.is_err() || (!valid && !self.collect) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        outcome?;
        if !forbidden.is_empty() {
            self.report(at, || msg::additional_properties(&forbidden));
        }
        Ok(valid)
    }

    fn check_combinators<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        node: &Node,
        instance: &I,
    ) -> Result<bool, Endless> {
        let mut valid = true;
        if let Some(not) = node.not {
            if self.passes(at, not, instance)? {
                self.report(at, msg::matched_not);
                valid = false;
                if !self.collect {
                    return Ok(false);
                }
            }
        }
        for &sub in node.all_of.iter() {
            valid &= self.in_place(at, sub, instance)?;
            if !valid && !self.collect {
                return Ok(false);
            }
        }
        if !node.any_of.is_empty() && (valid || self.collect) {
            let mut matched = false;
            for &sub in node.any_of.iter() {
                if self.passes(at, sub, instance)? {
                    matched = true;
                    break;
                }
            }
            if !matched {
                valid = false;
                self.failed_alone(at, &node.any_of, instance, msg::any_of_failed)?;
            }
        }
        if !node.one_of.is_empty() && (valid || self.collect) {
            let mut matched = 0;
            for &sub in node.one_of.iter() {
                if self.passes(at, sub, instance)? {
                    matched += 1;
                    if matched > 1 {
                        break;
                    }
                }
            }
            if matched > 1 {
                self.report(at, msg::one_of_many);
                valid = false;
            } else if matched == 0 {
                valid = false;
                self.failed_alone(at, &node.one_of, instance, msg::one_of_none)?;
            }
        }
        Ok(valid)
    }

    /// None of `subs` matched: with one subschema, its own problems (as `allOf` of one); else
    /// the combinator's message.
    fn failed_alone<I: Instance + ?Sized>(
        &mut self,
        at: &At<'_>,
        subs: &[u32],
        instance: &I,
        message: fn(usize) -> String,
    ) -> Result<(), Endless> {
        if !self.collect {
            return Ok(());
        }
        match subs {
            [only] => self.in_place(at, *only, instance).map(|_| ()),
            _ => {
                self.report(at, || message(subs.len()));
                Ok(())
            }
        }
    }
}

fn type_bits(kind: &Kind<'_>) -> u8 {
    match kind {
        Kind::Null => NULL,
        Kind::Bool(_) => BOOLEAN,
        Kind::Int(_) | Kind::UInt(_) => NUMBER | INTEGER,
        // A float with no fraction is an integer too (`1.0`), as Tollgate has always read
        // draft 4.
        Kind::Float(f) if f.fract() == 0.0 => NUMBER | INTEGER,
        Kind::Float(_) => NUMBER,
        Kind::Str(_) => STRING,
        Kind::Array => ARRAY,
        Kind::Object => OBJECT,
    }
}

/// The type a message names: a number written without a fraction is an `integer`.
fn type_name(kind: &Kind<'_>) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Bool(_) => "boolean",
        Kind::Int(_) | Kind::UInt(_) => "integer",
        Kind::Float(_) => "number",
        Kind::Str(_) => "string",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

/// The schema of the property `name` in `properties` (sorted by name). A model lists few
/// properties: comparing lengths and first bytes before the text beats a binary search there.
fn property_node(properties: &[(String, u32)], name: &str) -> Option<u32> {
    const SCAN_UP_TO: usize = 16;
    if properties.len() > SCAN_UP_TO {
        let i = properties.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok()?;
        return properties.get(i).map(|(_, node)| *node);
    }
    let first = name.as_bytes().first();
    properties
        .iter()
        .find(|(n, _)| n.len() == name.len() && n.as_bytes().first() == first && n == name)
        .map(|(_, node)| *node)
}

fn all_present<I: Instance + ?Sized>(object: &I, names: &[String]) -> bool {
    names.iter().all(|name| object.member(name).is_some())
}

fn missing<'s, I: Instance + ?Sized>(object: &I, names: &'s [String]) -> Vec<&'s str> {
    names.iter().filter(|name| object.member(name).is_none()).map(String::as_str).collect()
}

/// Whether `n` is a whole multiple of `divisor` (> 0): exactly for whole numbers; for others,
/// up to the rounding of binary fractions (`0.07` is a multiple of `0.01`, as in decimal).
fn is_multiple(n: Num, divisor: Num) -> bool {
    if let (Num::Int(_) | Num::UInt(_), Num::Int(_) | Num::UInt(_)) = (n, divisor) {
        let whole = |x: Num| match x {
            Num::Int(i) => i128::from(i),
            Num::UInt(u) => i128::from(u),
            Num::Float(_) => 0,
        };
        let d = whole(divisor);
        return d != 0 && whole(n) % d == 0;
    }
    let quotient = n.to_f64() / divisor.to_f64();
    if !quotient.is_finite() {
        return false;
    }
    (quotient - quotient.round()).abs() <= quotient.abs().max(1.0) * 4.0 * f64::EPSILON
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn multiples() {
        assert!(is_multiple(Num::Int(15), Num::Int(5)));
        assert!(!is_multiple(Num::Int(15), Num::Int(4)));
        assert!(is_multiple(Num::Float(0.07), Num::Float(0.01)));
        assert!(is_multiple(Num::Float(19.99), Num::Float(0.01)));
        assert!(!is_multiple(Num::Float(0.075), Num::Float(0.01)));
        assert!(is_multiple(Num::Float(7.5), Num::Float(2.5)));
        assert!(is_multiple(Num::UInt(u64::MAX), Num::Int(5)));
        assert!(!is_multiple(Num::Float(1.0), Num::Float(0.0)));
    }
}
