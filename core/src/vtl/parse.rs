//! The parser's cursor over the source, and the step that turns the token stream of
//! [`super::lex`] into a tree, matching `#if`/`#foreach` with their `#else`s and `#end`s.

use super::ast::{Expr, Node};
use super::lex::{Mode, Spanned, Token};
use super::{TemplateError, MAX_DEPTH};

/// Parses a whole template.
pub(crate) fn parse_template(source: &str) -> Result<Vec<Node>, TemplateError> {
    let mut parser = Parser::new(source);
    let tokens = parser.lex(Mode::Template)?;
    parser.build(tokens)
}

/// A cursor over the source characters. `end` bounds the region being read (a string literal's
/// content while it is interpolated); `depth` counts open blocks and expressions.
pub(crate) struct Parser {
    src: Vec<char>,
    pub(crate) pos: usize,
    pub(crate) end: usize,
    depth: usize,
}

impl Parser {
    fn new(source: &str) -> Parser {
        let src: Vec<char> = source.chars().collect();
        let end = src.len();
        Parser { src, pos: 0, end, depth: 0 }
    }

    /// The character at `index`, if inside the region being read.
    pub(crate) fn char_at(&self, index: usize) -> Option<char> {
        if index < self.end {
            self.src.get(index).copied()
        } else {
            None
        }
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.char_at(self.pos)
    }

    pub(crate) fn peek_at(&self, offset: usize) -> Option<char> {
        self.char_at(self.pos.saturating_add(offset))
    }

    /// Whether the source at `index` reads `s`.
    pub(crate) fn matches_at(&self, index: usize, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.char_at(index.saturating_add(i)) == Some(c))
    }

    /// Where `s` next occurs at or after `from`, inside the region.
    pub(crate) fn find(&self, from: usize, s: &str) -> Option<usize> {
        (from..self.end).find(|&i| self.matches_at(i, s))
    }

    /// The source between two positions.
    pub(crate) fn slice(&self, from: usize, to: usize) -> String {
        self.src.get(from..to).map(|cs| cs.iter().collect()).unwrap_or_default()
    }

    /// Skips spaces, tabs and line breaks.
    pub(crate) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    /// An error at a source position, with its 1-based line and column.
    pub(crate) fn error_at(&self, pos: usize, message: impl Into<String>) -> TemplateError {
        let (line, column) = self.line_col(pos);
        TemplateError { line, column, message: message.into() }
    }

    pub(crate) fn line_col(&self, pos: usize) -> (usize, usize) {
        let before = self.src.get(..pos).unwrap_or(&self.src);
        let line = 1 + before.iter().filter(|&&c| c == '\n').count();
        let column = 1 + before.iter().rev().take_while(|&&c| c != '\n').count();
        (line, column)
    }

    /// Opens one level of nesting; refuses to go past [`MAX_DEPTH`].
    pub(crate) fn enter(&mut self, pos: usize) -> Result<(), TemplateError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn set_depth(&mut self, depth: usize) {
        self.depth = depth;
    }

    /// Builds the tree of a token stream.
    pub(crate) fn build(&mut self, tokens: Vec<Spanned>) -> Result<Vec<Node>, TemplateError> {
        let mut root: Vec<Node> = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        for Spanned { tok, pos } in tokens {
            let node = match tok {
                Token::Text(text) => Node::Text(text),
                Token::Ref { reference, escapes } => Node::Ref { reference, escapes },
                Token::Set(target, value) => Node::Set { target, value },
                Token::Break => Node::Break,
                Token::Stop => Node::Stop,
                Token::If(cond) => {
                    self.enter(pos)?;
                    let open = Open::If { done: Vec::new(), current: Some(cond) };
                    stack.push(Frame { open, pos, nodes: Vec::new() });
                    continue;
                }
                Token::Foreach(var, iterable) => {
                    self.enter(pos)?;
                    stack.push(Frame {
                        open: Open::Foreach { var, iterable },
                        pos,
                        nodes: Vec::new(),
                    });
                    continue;
                }
                Token::ElseIf(cond) => {
                    self.next_branch(&mut stack, Some(cond), pos, "#elseif")?;
                    continue;
                }
                Token::Else => {
                    self.next_branch(&mut stack, None, pos, "#else")?;
                    continue;
                }
                Token::End => {
                    let frame = stack.pop().ok_or_else(|| {
                        self.error_at(pos, "#end without a matching #if or #foreach")
                    })?;
                    self.leave();
                    frame.close()
                }
            };
            let nodes = match stack.last_mut() {
                Some(frame) => &mut frame.nodes,
                None => &mut root,
            };
            push_node(nodes, node);
        }
        match stack.last() {
            Some(frame) => {
                let what = match frame.open {
                    Open::If { .. } => "#if",
                    Open::Foreach { .. } => "#foreach",
                };
                let (line, _) = self.line_col(frame.pos);
                Err(self.error_at(frame.pos, format!("{what} opened on line {line} has no #end")))
            }
            None => Ok(root),
        }
    }

    /// Closes the current branch of the innermost `#if` for an `#elseif` (`cond`) or `#else`.
    fn next_branch(
        &self,
        stack: &mut [Frame],
        cond: Option<Expr>,
        pos: usize,
        what: &str,
    ) -> Result<(), TemplateError> {
        let Some(frame) = stack.last_mut() else {
            return Err(self.error_at(pos, format!("{what} without a matching #if")));
        };
        let Open::If { done, current } = &mut frame.open else {
            return Err(self.error_at(pos, format!("{what} inside #foreach without an #if")));
        };
        let Some(previous) = current.take() else {
            return Err(self.error_at(pos, format!("{what} after #else")));
        };
        done.push((previous, std::mem::take(&mut frame.nodes)));
        *current = cond;
        Ok(())
    }
}

/// Appends a node, joining adjacent texts.
fn push_node(nodes: &mut Vec<Node>, node: Node) {
    if let (Some(Node::Text(last)), Node::Text(text)) = (nodes.last_mut(), &node) {
        last.push_str(text);
        return;
    }
    nodes.push(node);
}

/// An open block while building.
struct Frame {
    open: Open,
    pos: usize,
    nodes: Vec<Node>,
}

enum Open {
    /// `current` is the condition of the branch being read, `None` once in `#else`.
    If {
        done: Vec<(Expr, Vec<Node>)>,
        current: Option<Expr>,
    },
    Foreach {
        var: String,
        iterable: Expr,
    },
}

impl Frame {
    fn close(self) -> Node {
        match self.open {
            Open::If { mut done, current } => match current {
                Some(cond) => {
                    done.push((cond, self.nodes));
                    Node::If { branches: done, otherwise: Vec::new() }
                }
                None => Node::If { branches: done, otherwise: self.nodes },
            },
            Open::Foreach { var, iterable } => Node::Foreach { var, iterable, body: self.nodes },
        }
    }
}
