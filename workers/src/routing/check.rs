//! What is checked of a rule's expression before it may serve, from its syntax tree alone:
//! every name it reads is a claim field (or a variable a macro such as `exists` binds), every
//! function is one the standard environment has, and the expression stays within the limits
//! of size, depth and evaluation cost, so that no rule set can slow the router down or run
//! away on a hot reload.

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr};

use super::schema;

/// The limits on one rule's expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters of source.
    pub max_chars: usize,
    /// Nesting of the syntax tree.
    pub max_depth: usize,
    /// Nodes of the syntax tree.
    pub max_nodes: usize,
    /// The static cost: a node costs 1, and a comprehension's body costs once per element of
    /// the list it ranges over (a list literal's length; claims have no list fields).
    pub max_cost: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chars: 2_000,
            max_depth: 24,
            max_nodes: 300,
            max_cost: 2_000,
        }
    }
}

/// Functions and operators of CEL's standard environment a rule may call. Anything else is
/// refused at load: the interpreter would only find out when a claim reaches it.
pub const FUNCTIONS: [&str; 38] = [
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_&&_",
    "_||_",
    "!_",
    "_?_:_",
    "@in",
    "_+_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "-_",
    "_[_]",
    "@not_strictly_false",
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "lowerAscii",
    "upperAscii",
    "trim",
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "max",
];

/// What the tree walk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub depth: usize,
    pub nodes: usize,
    pub cost: u64,
}

/// A problem with one expression; `offset` is the character where it is, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offset: Option<usize>,
    pub message: String,
}

/// Checks `expr` (compiled from `source`) against the claim schema and `limits`.
pub fn check(
    source: &str,
    expr: &IdedExpr,
    offset_of: &dyn Fn(u64) -> Option<usize>,
    limits: &Limits,
) -> Result<Measure, Problem> {
    let chars = source.chars().count();
    if chars > limits.max_chars {
        return Err(Problem {
            offset: None,
            message: format!(
                "the expression is {chars} characters long; the limit is {}: split it into \
                 several rules",
                limits.max_chars
            ),
        });
    }
    let mut walk = Walk {
        offset_of,
        bound: Vec::new(),
        problem: None,
    };
    let measure = walk.node(expr, 1);
    if let Some(p) = walk.problem {
        return Err(p);
    }
    let over = |what: &str, value: u64, limit: u64| Problem {
        offset: None,
        message: format!(
            "the expression's {what} is {value}; the limit is {limit}: split it into several \
             rules"
        ),
    };
    if measure.depth > limits.max_depth {
        return Err(over(
            "nesting depth",
            measure.depth as u64,
            limits.max_depth as u64,
        ));
    }
    if measure.nodes > limits.max_nodes {
        return Err(over(
            "size (syntax-tree nodes)",
            measure.nodes as u64,
            limits.max_nodes as u64,
        ));
    }
    if measure.cost > limits.max_cost {
        return Err(over("evaluation cost", measure.cost, limits.max_cost));
    }
    Ok(measure)
}

struct Walk<'a> {
    offset_of: &'a dyn Fn(u64) -> Option<usize>,
    /// Variables bound by the comprehensions around the node (macros' iteration variables).
    bound: Vec<String>,
    problem: Option<Problem>,
}

impl Walk<'_> {
    fn refuse(&mut self, id: u64, message: String) {
        if self.problem.is_none() {
            self.problem = Some(Problem {
                offset: (self.offset_of)(id),
                message,
            });
        }
    }

    /// Measures the tree under `e` (at `depth`), noting the first problem.
    fn node(&mut self, e: &IdedExpr, depth: usize) -> Measure {
        let mut m = Measure {
            depth,
            nodes: 1,
            cost: 1,
        };
        let add = |child: Measure, m: &mut Measure| {
            m.depth = m.depth.max(child.depth);
            m.nodes += child.nodes;
            m.cost = m.cost.saturating_add(child.cost);
        };
        match &e.expr {
            Expr::Ident(name) => {
                if !self.bound.iter().any(|b| b == name) && schema::variable(name).is_none() {
                    let near = crate::intake::nearest(name, &schema::names());
                    self.refuse(
                        e.id,
                        format!(
                            "`{name}` is not a field of the claim{near}; the fields are {}",
                            schema::names().join(", ")
                        ),
                    );
                }
            }
            Expr::Select(s) => {
                if s.test {
                    // `has(x.f)`: claims have no messages whose fields could be absent.
                    self.refuse(
                        e.id,
                        "`has()` tests a field of a message, and a claim's fields are always \
                         there: compare the field instead (an empty string, `prior_auth`, \
                         `cob`)"
                            .into(),
                    );
                } else {
                    self.refuse(
                        e.id,
                        format!(
                            "`.{}`: a claim's fields are plain names (`{}`, not `claim.{}`)",
                            s.field, s.field, s.field
                        ),
                    );
                }
                let child = self.node(&s.operand, depth + 1);
                add(child, &mut m);
            }
            Expr::Call(call) => {
                if !FUNCTIONS.contains(&call.func_name.as_str()) {
                    self.refuse(
                        e.id,
                        format!(
                            "`{}` is not a function a rule may call; they are {}",
                            call.func_name,
                            FUNCTIONS
                                .iter()
                                .filter(|f| f.chars().all(|c| c.is_ascii_alphabetic()))
                                .copied()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                if let Some(t) = &call.target {
                    let child = self.node(t, depth + 1);
                    add(child, &mut m);
                }
                for a in &call.args {
                    let child = self.node(a, depth + 1);
                    add(child, &mut m);
                }
            }
            Expr::Comprehension(c) => {
                let range = self.node(&c.iter_range, depth + 1);
                let len = match &c.iter_range.expr {
                    Expr::List(l) => l.elements.len() as u64,
                    Expr::Map(m) => m.entries.len() as u64,
                    _ => {
                        self.refuse(
                            c.iter_range.id,
                            "a macro such as `exists` ranges over a list written in the rule \
                             (`[\"J1100\", \"J3490\"].exists(c, procedure == c)`); a claim has \
                             no list fields"
                                .into(),
                        );
                        0
                    }
                };
                let init = self.node(&c.accu_init, depth + 1);
                self.bound.push(c.iter_var.clone());
                if let Some(v) = &c.iter_var2 {
                    self.bound.push(v.clone());
                }
                self.bound.push(c.accu_var.clone());
                let cond = self.node(&c.loop_cond, depth + 1);
                let step = self.node(&c.loop_step, depth + 1);
                let result = self.node(&c.result, depth + 1);
                self.bound
                    .truncate(self.bound.len() - 2 - usize::from(c.iter_var2.is_some()));
                for child in [range, init, result] {
                    add(child, &mut m);
                }
                let body = Measure {
                    depth: cond.depth.max(step.depth),
                    nodes: cond.nodes + step.nodes,
                    cost: cond
                        .cost
                        .saturating_add(step.cost)
                        .saturating_mul(len.max(1)),
                };
                add(body, &mut m);
            }
            Expr::List(l) => {
                for el in &l.elements {
                    let child = self.node(el, depth + 1);
                    add(child, &mut m);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        let k = self.node(&me.key, depth + 1);
                        add(k, &mut m);
                        let v = self.node(&me.value, depth + 1);
                        add(v, &mut m);
                    }
                }
            }
            Expr::Struct(s) => {
                self.refuse(
                    e.id,
                    format!(
                        "`{}{{…}}` builds a message; a rule only reads the claim",
                        s.type_name
                    ),
                );
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
        m
    }
}
