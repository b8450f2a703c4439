//! The parsed form of a template: what the parser builds and the renderer walks. It holds no
//! shared pointers, so a [`super::Template`] is `Send + Sync`.

/// A piece of template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// A reference in text, with the count of backslashes written before it.
    Ref {
        reference: Reference,
        escapes: usize,
    },
    /// `#set($target = value)`.
    Set {
        target: Reference,
        value: Expr,
    },
    /// `#if`, its `#elseif`s, and the `#else` body (empty when there is none).
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `#foreach($var in iterable)`.
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
    },
    Break,
    Stop,
}

/// `$root.a.b(c)[d]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub quiet: bool,
    pub root: String,
    pub parts: Vec<Accessor>,
    /// The reference as written, rendered when its value is null.
    pub source: String,
}

/// One step after the root of a reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Accessor {
    Property(String),
    Method(String, Vec<Expr>),
    Index(Expr),
}

/// A literal value in an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// An expression inside a directive or a method argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Literal),
    /// A double-quoted string holding references or directives.
    Interpolated(Vec<Node>),
    Ref(Box<Reference>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}
