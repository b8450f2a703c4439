//! Reading template text into tokens: text, references, directives, comments, escapes, and the
//! "lines" whitespace gobbling (a line holding only a directive and comments outputs nothing).

use super::ast::{Expr, Reference};
use super::parse::Parser;
use super::TemplateError;

/// Where text is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The template itself: lines holding only a directive are gobbled.
    Template,
    /// The content of an interpolated `"..."` string: `""` reads as `"`, nothing is gobbled.
    String,
}

#[derive(Debug)]
pub(crate) enum Token {
    Text(String),
    Ref { reference: Reference, escapes: usize },
    Set(Reference, Expr),
    If(Expr),
    ElseIf(Expr),
    Else,
    End,
    Foreach(String, Expr),
    Break,
    Stop,
}

/// A token and the source position it starts at.
#[derive(Debug)]
pub(crate) struct Spanned {
    pub(crate) tok: Token,
    pub(crate) pos: usize,
}

const DIRECTIVES: [&str; 8] = ["set", "if", "elseif", "else", "end", "foreach", "break", "stop"];
const UNSUPPORTED: [&str; 7] =
    ["macro", "parse", "include", "evaluate", "define", "literal", "local"];

/// The tokens read so far, the pending text, where the current line starts in it, and whether
/// the current line holds only whitespace and comments so far (`clean`).
struct Lexed {
    tokens: Vec<Spanned>,
    text: String,
    line_start: usize,
    clean: bool,
    gobble: bool,
}

impl Lexed {
    fn push_char(&mut self, c: char) {
        self.text.push(c);
        if c == '\n' {
            self.new_line();
        } else if !matches!(c, ' ' | '\t' | '\r') {
            self.clean = false;
        }
    }

    /// A line starts here (after a line break, or a line comment that ate one).
    fn new_line(&mut self) {
        self.clean = true;
        self.line_start = self.text.len();
    }

    fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push_char(c));
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            self.tokens.push(Spanned { tok: Token::Text(text), pos: 0 });
        }
        self.line_start = 0;
    }

    fn push_token(&mut self, tok: Token, pos: usize) {
        self.flush();
        self.tokens.push(Spanned { tok, pos });
    }

    /// Drops the indentation of the current line (all whitespace while `clean`).
    fn trim_indent(&mut self) {
        let kept = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(kept.max(self.line_start));
    }
}

impl Parser {
    /// Reads the region `pos..end` into tokens.
    pub(crate) fn lex(&mut self, mode: Mode) -> Result<Vec<Spanned>, TemplateError> {
        let mut lx = Lexed {
            tokens: Vec::new(),
            text: String::new(),
            line_start: 0,
            clean: true,
            gobble: mode == Mode::Template,
        };
        while let Some(c) = self.peek() {
            match c {
                '\\' => self.lex_backslashes(&mut lx)?,
                '$' => {
                    let start = self.pos;
                    match self.parse_reference()? {
                        Some(reference) => {
                            lx.push_token(Token::Ref { reference, escapes: 0 }, start);
                            lx.clean = false;
                        }
                        None => {
                            self.pos += 1;
                            lx.push_char('$');
                        }
                    }
                }
                '#' => self.lex_hash(&mut lx)?,
                '"' if mode == Mode::String && self.peek_at(1) == Some('"') => {
                    self.pos += 2;
                    lx.push_char('"');
                }
                _ => {
                    self.pos += 1;
                    lx.push_char(c);
                }
            }
        }
        lx.flush();
        Ok(lx.tokens)
    }

    /// Backslashes before a reference or a directive escape it, Velocity style.
    fn lex_backslashes(&mut self, lx: &mut Lexed) -> Result<(), TemplateError> {
        let start = self.pos;
        let mut after = start;
        while self.char_at(after) == Some('\\') {
            after += 1;
        }
        let count = after - start;
        match self.char_at(after) {
            Some('$') => {
                self.pos = after;
                if let Some(reference) = self.parse_reference()? {
                    lx.push_token(Token::Ref { reference, escapes: count }, start);
                    lx.clean = false;
                    return Ok(());
                }
            }
            Some('#') if self.directive_name_at(after + 1).is_some() => {
                lx.push_str(&"\\".repeat(count / 2));
                if count % 2 == 1 {
                    lx.push_char('#');
                    self.pos = after + 1;
                } else {
                    self.pos = after;
                }
                return Ok(());
            }
            _ => {}
        }
        lx.push_str(&"\\".repeat(count));
        self.pos = after;
        Ok(())
    }

    /// The directive name written at `index` (after a `#`), plain or braced, and where it ends.
    fn directive_name_at(&self, index: usize) -> Option<(&'static str, usize)> {
        let braced = self.char_at(index) == Some('{');
        let (word, after) = self.word_at(if braced { index + 1 } else { index });
        let name = DIRECTIVES.into_iter().find(|d| *d == word)?;
        if !braced {
            return Some((name, after));
        }
        (self.char_at(after) == Some('}')).then_some((name, after + 1))
    }

    /// The word of letters, digits and `_` starting with a letter at `index`.
    fn word_at(&self, index: usize) -> (String, usize) {
        let mut end = index;
        if self.char_at(end).is_some_and(|c| c.is_ascii_alphabetic()) {
            while self.char_at(end).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                end += 1;
            }
        }
        (self.slice(index, end), end)
    }

    fn lex_hash(&mut self, lx: &mut Lexed) -> Result<(), TemplateError> {
        let start = self.pos;
        match self.peek_at(1) {
            Some('#') => {
                let rest = self.find(start, "\n").map_or(self.end, |nl| nl + 1);
                if lx.clean && lx.gobble {
                    lx.trim_indent();
                }
                self.pos = rest;
                lx.new_line();
            }
            Some('*') => {
                let close = self
                    .find(start + 2, "*#")
                    .ok_or_else(|| self.error_at(start, "#* comment is never closed with *#"))?;
                self.pos = close + 2;
                self.finish_directive(None, start, lx);
            }
            Some('[') if self.peek_at(2) == Some('[') => {
                let close = self
                    .find(start + 3, "]]#")
                    .ok_or_else(|| self.error_at(start, "#[[ is never closed with ]]#"))?;
                let text = self.slice(start + 3, close);
                lx.push_str(&text);
                self.pos = close + 3;
            }
            _ => {
                if let Some((name, after)) = self.directive_name_at(start + 1) {
                    self.pos = after;
                    let tok = self.directive(name, start)?;
                    self.finish_directive(Some(tok), start, lx);
                    return Ok(());
                }
                let (word, after) = self.word_at(start + 1);
                if !word.is_empty() {
                    let mut paren = after;
                    while matches!(self.char_at(paren), Some(' ' | '\t')) {
                        paren += 1;
                    }
                    if UNSUPPORTED.contains(&word.as_str()) && self.char_at(paren) == Some('(') {
                        return Err(self.error_at(start, format!("#{word} is not supported")));
                    }
                    if self.char_at(after) == Some('(') {
                        return Err(self.error_at(start, format!("unknown directive #{word}")));
                    }
                }
                self.pos = start + 1;
                lx.push_char('#');
            }
        }
        Ok(())
    }

    /// Reads a directive's arguments; `pos` is just after its name.
    fn directive(&mut self, name: &str, start: usize) -> Result<Token, TemplateError> {
        Ok(match name {
            "set" => {
                self.open_paren(name, start)?;
                let (target, value) = self.set_args(start)?;
                Token::Set(target, value)
            }
            "if" | "elseif" => {
                self.open_paren(name, start)?;
                let cond = self.parse_expr()?;
                self.close_paren(name)?;
                if name == "if" {
                    Token::If(cond)
                } else {
                    Token::ElseIf(cond)
                }
            }
            "foreach" => {
                self.open_paren(name, start)?;
                let (var, iterable) = self.foreach_args(start)?;
                Token::Foreach(var, iterable)
            }
            "else" => Token::Else,
            "end" => Token::End,
            "break" => Token::Break,
            _ => Token::Stop,
        })
    }

    fn open_paren(&mut self, name: &str, start: usize) -> Result<(), TemplateError> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.peek() != Some('(') {
            return Err(self.error_at(start, format!("#{name} must be followed by `(`")));
        }
        self.pos += 1;
        Ok(())
    }

    pub(crate) fn close_paren(&mut self, name: &str) -> Result<(), TemplateError> {
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error_at(self.pos, format!("expected `)` to close #{name}(")));
        }
        self.pos += 1;
        Ok(())
    }

    /// Emits a directive (or, for `None`, a block comment), gobbling its line when the line
    /// holds nothing else but whitespace and comments.
    fn finish_directive(&mut self, tok: Option<Token>, start: usize, lx: &mut Lexed) {
        if lx.gobble && lx.clean {
            if let Some(after) = self.blank_rest_of_line(self.pos) {
                lx.trim_indent();
                self.pos = after;
                if let Some(tok) = tok {
                    lx.push_token(tok, start);
                }
                lx.new_line();
                return;
            }
        }
        if let Some(tok) = tok {
            lx.push_token(tok, start);
            lx.clean = false;
        }
    }

    /// If the rest of the line from `index` is whitespace and comments, where the next line
    /// starts.
    fn blank_rest_of_line(&self, mut index: usize) -> Option<usize> {
        loop {
            match self.char_at(index) {
                None => return Some(index),
                Some(' ' | '\t' | '\r') => index += 1,
                Some('\n') => return Some(index + 1),
                Some('#') if self.char_at(index + 1) == Some('#') => {
                    return Some(self.find(index, "\n").map_or(self.end, |nl| nl + 1));
                }
                Some('#') if self.char_at(index + 1) == Some('*') => {
                    index = self.find(index + 2, "*#")? + 2;
                }
                Some(_) => return None,
            }
        }
    }
}
