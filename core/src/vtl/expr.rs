//! Reading references (`$a.b(c)[d]`) and expressions (inside directives and method arguments).

use super::ast::{Accessor, BinOp, Expr, Literal, Reference};
use super::jsonpath;
use super::lex::Mode;
use super::parse::Parser;
use super::{TemplateError, MAX_DEPTH};

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser {
    /// An identifier at `index` (Velocity 1.7: letters, digits, `_`, and `-` between them).
    fn ident_at(&self, index: usize) -> Option<(String, usize)> {
        if !self.char_at(index).is_some_and(is_ident_start) {
            return None;
        }
        let mut end = index + 1;
        loop {
            match self.char_at(end) {
                Some(c) if is_ident_char(c) => end += 1,
                Some('-') if self.char_at(end + 1).is_some_and(is_ident_char) => end += 2,
                _ => break,
            }
        }
        Some((self.slice(index, end), end))
    }

    /// Reads a reference at `pos` (a `$`). `None`, with `pos` unchanged, when the `$` does not
    /// start one: it is then text.
    pub(crate) fn parse_reference(&mut self) -> Result<Option<Reference>, TemplateError> {
        let start = self.pos;
        let mut at = start + 1;
        let quiet = self.char_at(at) == Some('!');
        if quiet {
            at += 1;
        }
        let braced = self.char_at(at) == Some('{');
        if braced {
            at += 1;
        }
        let Some((root, after)) = self.ident_at(at) else {
            return Ok(None);
        };
        self.pos = after;
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    let Some((name, after)) = self.ident_at(self.pos + 1) else { break };
                    if self.char_at(after) == Some('(') {
                        self.pos = after + 1;
                        let args = self.method_args(&name)?;
                        parts.push(Accessor::Method(name, args));
                    } else {
                        self.pos = after;
                        parts.push(Accessor::Property(name));
                    }
                }
                Some('[') => match self.index_accessor() {
                    Some(index) => parts.push(Accessor::Index(index)),
                    None => break,
                },
                _ => break,
            }
            if parts.len() > MAX_DEPTH {
                return Err(self.error_at(start, "reference has too many parts"));
            }
        }
        if braced {
            if self.peek() != Some('}') {
                self.pos = start;
                return Ok(None);
            }
            self.pos += 1;
        }
        let reference = Reference { quiet, root, parts, source: self.slice(start, self.pos) };
        self.check_json_path(&reference, start)?;
        Ok(Some(reference))
    }

    /// `[expr]` after a reference; `None`, with `pos` unchanged, when it does not read as one.
    fn index_accessor(&mut self) -> Option<Expr> {
        let (saved_pos, saved_depth) = (self.pos, self.depth());
        self.pos += 1;
        let index = self.parse_expr().ok().and_then(|e| {
            self.skip_ws();
            (self.peek() == Some(']')).then_some(e)
        });
        match index {
            Some(e) => {
                self.pos += 1;
                Some(e)
            }
            None => {
                self.pos = saved_pos;
                self.set_depth(saved_depth);
                None
            }
        }
    }

    /// Arguments of a method call; `pos` is just after the `(`.
    fn method_args(&mut self, name: &str) -> Result<Vec<Expr>, TemplateError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.parse_expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => {
                    let msg = format!("expected `,` or `)` in the arguments of .{name}(");
                    return Err(self.error_at(self.pos, msg));
                }
            }
        }
    }

    /// `$input.json('...')` and `$input.path('...')` with a literal path: check it now.
    fn check_json_path(&self, r: &Reference, start: usize) -> Result<(), TemplateError> {
        if r.root != "input" {
            return Ok(());
        }
        if let Some(Accessor::Method(name, args)) = r.parts.first() {
            if let ([Expr::Literal(Literal::Str(path))], "json" | "path") =
                (args.as_slice(), name.as_str())
            {
                jsonpath::parse_path(path)
                    .map_err(|m| self.error_at(start, format!("invalid JSONPath `{path}`: {m}")))?;
            }
        }
        Ok(())
    }

    /// `$target = value)` of a `#set(`.
    pub(crate) fn set_args(&mut self, start: usize) -> Result<(Reference, Expr), TemplateError> {
        self.skip_ws();
        let target = match self.peek() {
            Some('$') => self.parse_reference()?,
            _ => None,
        };
        let target = target
            .filter(|t| t.parts.iter().all(|p| !matches!(p, Accessor::Method(..))))
            .ok_or_else(|| self.error_at(start, "#set needs `$name` or `$name.key` before `=`"))?;
        self.skip_ws();
        if self.peek() != Some('=') {
            return Err(self.error_at(self.pos, "expected `=` in #set"));
        }
        self.pos += 1;
        let value = self.parse_expr()?;
        self.close_paren("set")?;
        Ok((target, value))
    }

    /// `$var in iterable)` of a `#foreach(`.
    pub(crate) fn foreach_args(&mut self, start: usize) -> Result<(String, Expr), TemplateError> {
        self.skip_ws();
        let var = match self.peek() {
            Some('$') => self.parse_reference()?,
            _ => None,
        };
        let var = var
            .filter(|v| v.parts.is_empty())
            .ok_or_else(|| self.error_at(start, "#foreach needs `$name in ...`"))?;
        self.skip_ws();
        if !self.eat_word("in") {
            return Err(self.error_at(self.pos, "expected `in` in #foreach"));
        }
        let iterable = self.parse_expr()?;
        self.close_paren("foreach")?;
        Ok((var.root, iterable))
    }

    /// Consumes `word` if it is written here as a whole word.
    fn eat_word(&mut self, word: &str) -> bool {
        let after = self.pos + word.chars().count();
        if self.matches_at(self.pos, word) && !self.char_at(after).is_some_and(is_ident_char) {
            self.pos = after;
            return true;
        }
        false
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.matches_at(self.pos, s) {
            self.pos += s.chars().count();
            return true;
        }
        false
    }

    pub(crate) fn parse_expr(&mut self) -> Result<Expr, TemplateError> {
        self.enter(self.pos)?;
        let expr = self.parse_or();
        self.leave();
        expr
    }

    fn parse_or(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_and()?;
        loop {
            self.skip_ws();
            if !(self.eat("||") || self.eat_word("or")) {
                return Ok(left);
            }
            let right = self.parse_and()?;
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
    }

    fn parse_and(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_equality()?;
        loop {
            self.skip_ws();
            if !(self.eat("&&") || self.eat_word("and")) {
                return Ok(left);
            }
            let right = self.parse_equality()?;
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
    }

    fn parse_equality(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_relational()?;
        loop {
            self.skip_ws();
            let op = if self.eat("==") || self.eat_word("eq") {
                BinOp::Eq
            } else if self.eat("!=") || self.eat_word("ne") {
                BinOp::Ne
            } else {
                return Ok(left);
            };
            let right = self.parse_relational()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_relational(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_additive()?;
        loop {
            self.skip_ws();
            let op = if self.eat("<=") || self.eat_word("le") {
                BinOp::Le
            } else if self.eat(">=") || self.eat_word("ge") {
                BinOp::Ge
            } else if self.eat("<") || self.eat_word("lt") {
                BinOp::Lt
            } else if self.eat(">") || self.eat_word("gt") {
                BinOp::Gt
            } else {
                return Ok(left);
            };
            let right = self.parse_additive()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_additive(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_multiplicative()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some('+') => BinOp::Add,
                Some('-') => BinOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.parse_multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_multiplicative(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.parse_unary()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some('*') => BinOp::Mul,
                Some('/') => BinOp::Div,
                Some('%') => BinOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.parse_unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_unary(&mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let negate = match self.peek() {
            Some('!') if self.peek_at(1) != Some('=') => {
                self.pos += 1;
                true
            }
            Some('-') if !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                self.pos += 1;
                false
            }
            _ if self.eat_word("not") => true,
            _ => return self.parse_primary(),
        };
        self.enter(self.pos)?;
        let operand = self.parse_unary();
        self.leave();
        let operand = Box::new(operand?);
        Ok(if negate { Expr::Not(operand) } else { Expr::Neg(operand) })
    }

    fn parse_primary(&mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('$') => match self.parse_reference()? {
                Some(r) => Ok(Expr::Ref(Box::new(r))),
                None => Err(self.error_at(start, "expected a reference after `$`")),
            },
            Some('\'') => self.single_quoted(),
            Some('"') => self.double_quoted(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('[') => self.list_or_range(),
            Some('{') => self.map_literal(),
            Some('(') => {
                self.pos += 1;
                let inner = self.parse_expr()?;
                self.skip_ws();
                if !self.eat(")") {
                    return Err(self.error_at(self.pos, "expected `)`"));
                }
                Ok(inner)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                if self.eat_word("true") {
                    Ok(Expr::Literal(Literal::Bool(true)))
                } else if self.eat_word("false") {
                    Ok(Expr::Literal(Literal::Bool(false)))
                } else if self.eat_word("null") {
                    Ok(Expr::Literal(Literal::Null))
                } else {
                    let word = self.ident_at(start).map(|(w, _)| w).unwrap_or_default();
                    Err(self.error_at(start, format!("unexpected `{word}` in expression")))
                }
            }
            Some(c) => Err(self.error_at(start, format!("unexpected `{c}` in expression"))),
            None => Err(self.error_at(start, "unexpected end of template in expression")),
        }
    }

    fn number(&mut self) -> Result<Expr, TemplateError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let float = self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit());
        if float {
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let text = self.slice(start, self.pos);
        let literal = if float {
            text.parse().map(Literal::Float).ok()
        } else {
            text.parse().map(Literal::Int).ok()
        };
        literal
            .map(Expr::Literal)
            .ok_or_else(|| self.error_at(start, format!("bad number `{text}`")))
    }

    fn list_or_range(&mut self) -> Result<Expr, TemplateError> {
        self.pos += 1;
        self.skip_ws();
        if self.eat("]") {
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.parse_expr()?;
        self.skip_ws();
        if self.eat("..") {
            let last = self.parse_expr()?;
            self.skip_ws();
            if !self.eat("]") {
                return Err(self.error_at(self.pos, "expected `]` to close the range"));
            }
            return Ok(Expr::Range(Box::new(first), Box::new(last)));
        }
        let mut items = vec![first];
        loop {
            self.skip_ws();
            if self.eat("]") {
                return Ok(Expr::List(items));
            }
            if !self.eat(",") {
                return Err(self.error_at(self.pos, "expected `,` or `]` in list"));
            }
            items.push(self.parse_expr()?);
        }
    }

    fn map_literal(&mut self) -> Result<Expr, TemplateError> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.eat("}") {
            return Ok(Expr::Map(entries));
        }
        loop {
            let key = self.parse_expr()?;
            self.skip_ws();
            if !self.eat(":") {
                return Err(self.error_at(self.pos, "expected `:` in map"));
            }
            let value = self.parse_expr()?;
            entries.push((key, value));
            self.skip_ws();
            if self.eat("}") {
                return Ok(Expr::Map(entries));
            }
            if !self.eat(",") {
                return Err(self.error_at(self.pos, "expected `,` or `}` in map"));
            }
        }
    }

    /// `'...'`: no interpolation; `''` is a quote.
    fn single_quoted(&mut self) -> Result<Expr, TemplateError> {
        let start = self.pos;
        let mut at = start + 1;
        let mut text = String::new();
        loop {
            match self.char_at(at) {
                Some('\'') if self.char_at(at + 1) == Some('\'') => {
                    text.push('\'');
                    at += 2;
                }
                Some('\'') => break,
                Some(c) => {
                    text.push(c);
                    at += 1;
                }
                None => return Err(self.error_at(start, "unterminated string")),
            }
        }
        self.pos = at + 1;
        Ok(Expr::Literal(Literal::Str(text)))
    }

    /// `"..."`: references and directives inside are evaluated; `""` is a quote, and a
    /// backslash keeps the next character (written as is).
    fn double_quoted(&mut self) -> Result<Expr, TemplateError> {
        let start = self.pos;
        let mut close = start + 1;
        loop {
            match self.char_at(close) {
                Some('\\') => close += 2,
                Some('"') if self.char_at(close + 1) == Some('"') => close += 2,
                Some('"') => break,
                Some(_) => close += 1,
                None => return Err(self.error_at(start, "unterminated string")),
            }
        }
        let content = self.slice(start + 1, close);
        if !content.contains(['$', '#']) {
            self.pos = close + 1;
            return Ok(Expr::Literal(Literal::Str(content.replace("\"\"", "\""))));
        }
        self.enter(start)?;
        let saved_end = self.end;
        self.pos = start + 1;
        self.end = close;
        let nodes = self.lex(Mode::String).and_then(|tokens| self.build(tokens));
        self.end = saved_end;
        self.pos = close + 1;
        self.leave();
        Ok(Expr::Interpolated(nodes?))
    }
}
