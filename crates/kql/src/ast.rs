//! The syntax tree of a KQL query.
//!
//! It is an honest syntax tree: it records what was written, with a byte [`Span`] into the
//! source on every node, and makes no semantic decision. Whether a name is a column, a table
//! or a `let`-bound value, what type an expression has and what a result column is called are
//! the engine's business.
//!
//! Literals are decoded (escapes processed, `datetime(…)` turned into nanoseconds since the
//! Unix epoch, `5m` into nanoseconds) because doing so needs nothing but the text, and an
//! invalid literal is best reported with its span by the parser.

use std::fmt;

/// A byte range `start..end` into the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// The text this span covers in `source` (empty if it does not fit).
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A name as written: a plain identifier, or a quoted one (`['a b']`, `["a b"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name, unquoted.
    pub name: String,
    /// Where it was written (including brackets and quotes).
    pub span: Span,
}

impl Ident {
    /// A name with its span.
    pub fn new(name: impl Into<String>, span: Span) -> Self {
        Ident { name: name.into(), span }
    }
}

/// A whole query: `let` statements and tabular expression statements, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The statements, in source order. Real queries have any number of `let`s followed by
    /// one tabular expression.
    pub statements: Vec<Statement>,
    /// The whole query.
    pub span: Span,
}

impl Query {
    /// The `let` statements, in order.
    pub fn lets(&self) -> impl Iterator<Item = &LetStatement> {
        self.statements.iter().filter_map(|s| match s {
            Statement::Let(l) => Some(l),
            Statement::Tabular(_) => None,
        })
    }

    /// The last tabular expression statement: the one whose rows are the query's result.
    pub fn result(&self) -> Option<&TabularExpr> {
        self.statements.iter().rev().find_map(|s| match s {
            Statement::Tabular(t) => Some(t),
            Statement::Let(_) => None,
        })
    }
}

/// One statement of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `let name = …;`
    Let(LetStatement),
    /// A tabular expression whose rows are returned.
    Tabular(TabularExpr),
}

impl Statement {
    /// Where the statement was written (without its trailing `;`).
    pub fn span(&self) -> Span {
        match self {
            Statement::Let(l) => l.span,
            Statement::Tabular(t) => t.span,
        }
    }
}

/// `let name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetStatement {
    /// The bound name.
    pub name: Ident,
    /// What it is bound to.
    pub value: LetValue,
    /// From `let` to the end of the value.
    pub span: Span,
}

/// The right-hand side of a `let`.
#[derive(Debug, Clone, PartialEq)]
pub enum LetValue {
    /// A scalar expression, or a bare name (`let t = SomeTable;`), which may name a table or
    /// a scalar: the parser cannot tell, the engine can.
    Expr(Expr),
    /// A tabular expression: a pipeline (`T | where …`), `union …`, `datatable(…)[…]`, `print`,
    /// `range`, `search`, or a parenthesised tabular expression.
    Tabular(TabularExpr),
    /// `materialize(tabular)`; the span is that of the whole call.
    Materialize(TabularExpr, Span),
    /// `(params) { body }`: a user-defined function.
    Function(FunctionDef),
}

/// A user-defined function: `let f = (a: long, T: (*)) { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    /// The parameters, in order.
    pub params: Vec<FunctionParam>,
    /// The `let` statements of the body.
    pub lets: Vec<LetStatement>,
    /// The body's result: a scalar or tabular expression.
    pub body: Box<LetValue>,
    /// From `(` to `}`.
    pub span: Span,
}

/// One parameter of a user-defined function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionParam {
    /// Its name.
    pub name: Ident,
    /// Its type: a scalar type name, or `None` for a tabular parameter (`T: (*)`).
    pub ty: Option<Ident>,
    /// Its default value, if any (`x: long = 5`).
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// A tabular expression: a source followed by `| operator` stages.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularExpr {
    /// Where the rows come from.
    pub source: Source,
    /// The piped operators, in order.
    pub operators: Vec<Operator>,
    /// The whole expression.
    pub span: Span,
}

/// The first element of a tabular expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A name: a table, or a `let`-bound tabular value.
    Name(Ident),
    /// A table name pattern with `*` (`*`, `Azure*`), as `union` and `search` accept.
    Pattern(Ident),
    /// A call of a tabular function (`table("T")`, a user-defined function).
    Call(Expr),
    /// `( tabular )`.
    Paren(Box<TabularExpr>),
    /// `union …` at the start of a pipeline.
    Union(Union),
    /// `search …` at the start of a pipeline.
    Search(Search),
    /// `datatable(col: type, …) [ values… ]`.
    Datatable(Datatable),
    /// `print name = expr, …`.
    Print(Vec<NamedExpr>),
    /// `range col from a to b step s`.
    Range(Range),
}

/// One `| operator` stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// Which operator, with its arguments.
    pub kind: OperatorKind,
    /// From the operator name to its end (without the leading `|`).
    pub span: Span,
}

/// A tabular operator and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorKind {
    /// `where predicate` (also spelt `filter`).
    Where(Expr),
    /// `extend [name =] expr, …`.
    Extend(Vec<NamedExpr>),
    /// `project [name =] expr, …`.
    Project(Vec<NamedExpr>),
    /// `serialize [name = expr, …]`: marks the rows as ordered (window functions such as
    /// `prev()` and `row_number()` may then read them), then extends them as `extend` does.
    Serialize(Vec<NamedExpr>),
    /// `project-away col, …`; names may hold `*` wildcards.
    ProjectAway(Vec<Ident>),
    /// `project-keep col, …`; names may hold `*` wildcards.
    ProjectKeep(Vec<Ident>),
    /// `project-reorder col [asc|desc], …`; names may hold `*` wildcards.
    ProjectReorder(Vec<ReorderKey>),
    /// `project-rename new = old, …`.
    ProjectRename(Vec<Rename>),
    /// `summarize [aggregates] [by groups]`.
    Summarize(Summarize),
    /// `top N by expr [asc|desc] [nulls first|last]`.
    Top(Top),
    /// `top-nested … of … by …, top-nested …`: one level per item, outermost first.
    TopNested(Vec<TopNestedLevel>),
    /// `top-hitters N of expr [by sum_expr]`.
    TopHitters(TopHitters),
    /// `sort by …` / `order by …`.
    Sort(Vec<SortKey>),
    /// `take N` / `limit N`.
    Take(Expr),
    /// `sample N`: `N` rows chosen at random.
    Sample(Expr),
    /// `sample-distinct N of expr`: up to `N` distinct values of `expr`, chosen at random.
    SampleDistinct {
        /// `N`.
        count: Expr,
        /// The values.
        of: Expr,
    },
    /// `count`.
    Count,
    /// `getschema`: one row per column (name, ordinal, .NET type, Kusto type).
    GetSchema,
    /// `as [hint.…=…] Name`: binds `Name` to the rows so far for the rest of the query (the
    /// hints are performance hints and are not kept).
    As(Ident),
    /// `distinct col, …`; an empty list is `distinct *`.
    Distinct(Vec<Expr>),
    /// `render kind [with (…)]`.
    Render(Render),
    /// `union …` with the piped input as its first leg.
    Union(Union),
    /// `join [kind=…] (right) on …`.
    Join(Join),
    /// `lookup [kind=leftouter|inner] (right) on …`: a join that does not repeat the right
    /// side's key columns.
    Lookup(Join),
    /// `mv-expand …` (also the old spelling `mvexpand`).
    MvExpand(MvExpand),
    /// `parse [kind=…] expr with pattern`.
    Parse(Parse),
    /// `parse-kv expr as (key: type, …) with (name = value, …)`.
    ParseKv(ParseKv),
    /// `evaluate [hints] plugin(args…)`.
    Evaluate(Evaluate),
    /// `partition [hints] by Column (operators…)`: the operators run on each value's rows.
    Partition(Partition),
    /// `mv-apply items… on (operators…)`: the operators run on each row's expanded items.
    MvApply(MvApply),
    /// `search …` over the piped input.
    Search(Search),
    /// `make-series …`.
    MakeSeries(MakeSeries),
}

impl OperatorKind {
    /// The operator's canonical name, as written in KQL (`mv-expand` for `mvexpand`).
    pub fn name(&self) -> &'static str {
        match self {
            OperatorKind::Where(_) => "where",
            OperatorKind::Extend(_) => "extend",
            OperatorKind::Project(_) => "project",
            OperatorKind::Serialize(_) => "serialize",
            OperatorKind::ProjectAway(_) => "project-away",
            OperatorKind::ProjectKeep(_) => "project-keep",
            OperatorKind::ProjectReorder(_) => "project-reorder",
            OperatorKind::ProjectRename(_) => "project-rename",
            OperatorKind::Summarize(_) => "summarize",
            OperatorKind::Top(_) => "top",
            OperatorKind::TopNested(_) => "top-nested",
            OperatorKind::TopHitters(_) => "top-hitters",
            OperatorKind::Sort(_) => "sort",
            OperatorKind::Take(_) => "take",
            OperatorKind::Sample(_) => "sample",
            OperatorKind::SampleDistinct { .. } => "sample-distinct",
            OperatorKind::Count => "count",
            OperatorKind::GetSchema => "getschema",
            OperatorKind::As(_) => "as",
            OperatorKind::Distinct(_) => "distinct",
            OperatorKind::Render(_) => "render",
            OperatorKind::Union(_) => "union",
            OperatorKind::Join(_) => "join",
            OperatorKind::Lookup(_) => "lookup",
            OperatorKind::MvExpand(_) => "mv-expand",
            OperatorKind::ParseKv(_) => "parse-kv",
            OperatorKind::Evaluate(_) => "evaluate",
            OperatorKind::Partition(_) => "partition",
            OperatorKind::MvApply(_) => "mv-apply",
            OperatorKind::Parse(p) if p.filter => "parse-where",
            OperatorKind::Parse(_) => "parse",
            OperatorKind::Search(_) => "search",
            OperatorKind::MakeSeries(_) => "make-series",
        }
    }
}

/// `[name =] expr`, as in `extend`, `project`, `summarize`, `print`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    /// The explicit name, if one was given.
    pub name: Option<Ident>,
    /// The expression.
    pub expr: Expr,
    /// From the name (or the expression) to the end of the expression.
    pub span: Span,
}

/// `new = old` in `project-rename`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    /// The new name.
    pub new: Ident,
    /// The existing column.
    pub old: Ident,
    /// The whole item.
    pub span: Span,
}

/// `summarize aggregates by groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summarize {
    /// Parameters before the aggregates (`hint.strategy=shuffle`).
    pub params: Vec<OperatorParam>,
    /// The aggregates, e.g. `count()`, `p99 = percentile(x, 99)`. May be empty.
    pub aggregates: Vec<NamedExpr>,
    /// The group keys after `by`, e.g. `UserAgent`, `bin(t, 5m)`, `k = tostring(x)`.
    pub by: Vec<NamedExpr>,
}

/// One level of `top-nested`:
/// `top-nested [N] of [Name =] Expr [with others = Value] by [AggName =] Aggregation [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopNestedLevel {
    /// How many values to keep (per value of the levels above); all when absent.
    pub count: Option<Expr>,
    /// The values: `[Name =] Expr`.
    pub of: NamedExpr,
    /// `with others = Value`: a row for the values left out, under this value.
    pub others: Option<Expr>,
    /// What ranks the values: `[AggName =] Aggregation`.
    pub by: NamedExpr,
    /// `asc` or `desc` if written (the default keeps the largest).
    pub order: Option<SortOrder>,
    /// The whole level, from `top-nested` (or its count) to its order.
    pub span: Span,
}

/// `top-hitters N of expr [by sum_expr]`: the `N` most frequent values of `expr`, or the `N`
/// with the largest sums of `sum_expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopHitters {
    /// How many values.
    pub count: Expr,
    /// The values.
    pub of: Expr,
    /// What is summed per value instead of counting rows.
    pub by: Option<Expr>,
}

/// `top N by key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Top {
    /// How many rows.
    pub count: Expr,
    /// The ordering.
    pub by: SortKey,
}

/// One item of `project-reorder`: `col [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReorderKey {
    /// The column name or `*` pattern.
    pub name: Ident,
    /// `asc` or `desc` if written: the columns the pattern matches, sorted by name.
    pub order: Option<SortOrder>,
}

/// One key of `sort by`/`top`: `expr [asc|desc] [nulls first|last]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The expression sorted on.
    pub expr: Expr,
    /// `asc` or `desc` if written (KQL's default is descending).
    pub order: Option<SortOrder>,
    /// `nulls first` or `nulls last` if written (KQL's default depends on the order).
    pub nulls: Option<NullsOrder>,
    /// The whole key.
    pub span: Span,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// `asc`.
    Asc,
    /// `desc`.
    Desc,
}

/// Where nulls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullsOrder {
    /// `nulls first`.
    First,
    /// `nulls last`.
    Last,
}

/// `render kind [with (name = value, …)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Render {
    /// The visualisation (`timechart`, `table`, …); checked against [`crate::RENDER_KINDS`].
    pub kind: Ident,
    /// The `with (…)` properties, in order.
    pub properties: Vec<RenderProperty>,
}

/// One `name = value` of `render … with (…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderProperty {
    /// The property (`title`, `ycolumns`, …).
    pub name: Ident,
    /// Its value; several for list properties such as `ycolumns = a, b`.
    pub values: Vec<Expr>,
    /// The whole property.
    pub span: Span,
}

/// `name = value` parameters written before an operator's arguments (`kind=inner`,
/// `withsource=T`, `hint.strategy=shuffle`, `bagexpansion=array`).
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorParam {
    /// The parameter name, possibly dotted (`hint.strategy`).
    pub name: Ident,
    /// Its value: a literal or a bare name (held as [`ExprKind::Name`]).
    pub value: Expr,
    /// The whole parameter.
    pub span: Span,
}

/// `union [params] [withsource=Col] leg, …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// Parameters other than `withsource` (`kind=outer`, `isfuzzy=true`).
    pub params: Vec<OperatorParam>,
    /// `withsource=Col` (also spelt `withsource = Col`): the column naming each row's table.
    pub withsource: Option<Ident>,
    /// The legs: names, patterns such as `*`, or parenthesised tabular expressions.
    pub tables: Vec<TabularExpr>,
}

/// `join [kind=…] [hints] right on keys`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// The join flavour, if `kind=` was written (KQL's default is `innerunique`).
    pub kind: Option<(JoinKind, Span)>,
    /// Other parameters (`hint.remote=auto`, …).
    pub params: Vec<OperatorParam>,
    /// The right side.
    pub right: TabularExpr,
    /// The `on` keys.
    pub on: Vec<JoinKey>,
}

/// The `kind=` of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `innerunique` (the default when `kind` is omitted).
    InnerUnique,
    /// `inner`.
    Inner,
    /// `leftouter`.
    LeftOuter,
    /// `rightouter`.
    RightOuter,
    /// `fullouter`.
    FullOuter,
    /// `leftanti` (also `anti`, `leftantisemi`).
    LeftAnti,
    /// `rightanti` (also `rightantisemi`).
    RightAnti,
    /// `leftsemi`.
    LeftSemi,
    /// `rightsemi`.
    RightSemi,
}

impl JoinKind {
    /// Every kind with its spelling(s) in KQL.
    pub const SPELLINGS: &'static [(&'static str, JoinKind)] = &[
        ("innerunique", JoinKind::InnerUnique),
        ("inner", JoinKind::Inner),
        ("leftouter", JoinKind::LeftOuter),
        ("rightouter", JoinKind::RightOuter),
        ("fullouter", JoinKind::FullOuter),
        ("leftanti", JoinKind::LeftAnti),
        ("anti", JoinKind::LeftAnti),
        ("leftantisemi", JoinKind::LeftAnti),
        ("rightanti", JoinKind::RightAnti),
        ("rightantisemi", JoinKind::RightAnti),
        ("leftsemi", JoinKind::LeftSemi),
        ("rightsemi", JoinKind::RightSemi),
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinKind::InnerUnique => "innerunique",
            JoinKind::Inner => "inner",
            JoinKind::LeftOuter => "leftouter",
            JoinKind::RightOuter => "rightouter",
            JoinKind::FullOuter => "fullouter",
            JoinKind::LeftAnti => "leftanti",
            JoinKind::RightAnti => "rightanti",
            JoinKind::LeftSemi => "leftsemi",
            JoinKind::RightSemi => "rightsemi",
        }
    }
}

/// One key of `join … on`.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinKey {
    /// `on col`: the same column name on both sides.
    Same(Ident),
    /// `on $left.a == $right.b` (or written the other way round; normalised so `left` is the
    /// left side's column).
    Pair {
        /// The left side's column.
        left: Ident,
        /// The right side's column.
        right: Ident,
        /// The whole condition.
        span: Span,
    },
}

/// `mv-expand [params] item, … [limit N]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvExpand {
    /// Parameters (`bagexpansion=array`, `with_itemindex=i`).
    pub params: Vec<OperatorParam>,
    /// The expanded columns or expressions.
    pub items: Vec<MvExpandItem>,
    /// `limit N`, if written.
    pub limit: Option<Expr>,
}

/// One expanded item: `[name =] expr [to typeof(type)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvExpandItem {
    /// The explicit result name, if given.
    pub name: Option<Ident>,
    /// The array or bag to expand.
    pub expr: Expr,
    /// `to typeof(type)`: the type name.
    pub to_type: Option<Ident>,
    /// The whole item.
    pub span: Span,
}

/// `parse [kind=simple|regex|relaxed] [flags=…] expr with pattern`, or `parse-where`, which
/// keeps only the rows that match.
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    /// `parse-where`: rows whose text does not match (or whose typed values do not convert)
    /// are dropped.
    pub filter: bool,
    /// Parameters (`kind=relaxed`, `flags=Ui`).
    pub params: Vec<OperatorParam>,
    /// The string parsed.
    pub expr: Expr,
    /// The pattern after `with`, in order.
    pub pattern: Vec<ParsePart>,
}

/// `mv-apply [with_itemindex=i] [name =] expr [to typeof(t)], … [limit N] on ( operator | … )`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvApply {
    /// The expansion, as `mv-expand` writes it.
    pub expand: MvExpand,
    /// The subquery run on each input row's expanded rows.
    pub operators: Vec<Operator>,
}

/// `partition [hint.…=…] by Column ( operator | operator … )`.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Hints (`hint.strategy=native`): accepted and ignored.
    pub params: Vec<OperatorParam>,
    /// The column whose values split the rows.
    pub by: Expr,
    /// The operators run on each part (the subquery without a source).
    pub operators: Vec<Operator>,
}

/// `evaluate [hint.…=…] plugin(args…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluate {
    /// Hints (`hint.distribution=per_node`): accepted and ignored.
    pub params: Vec<OperatorParam>,
    /// The plugin (`pivot`, `bag_unpack`).
    pub plugin: Ident,
    /// Its arguments.
    pub args: Vec<Expr>,
}

/// `parse-kv expr as (key [: type], …) with (pair_delimiter = ',', kv_delimiter = ':', …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseKv {
    /// The text read.
    pub expr: Expr,
    /// The keys to extract, each a new column, with its type if written.
    pub keys: Vec<(Ident, Option<Ident>)>,
    /// The `with (…)` options (`pair_delimiter`, `kv_delimiter`, `quote`, `escape`, `greedy`,
    /// `regex`), in order; a name may repeat (`quote`).
    pub options: Vec<OperatorParam>,
}

/// One element of a `parse … with` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePart {
    /// `*`: skip anything.
    Wildcard(Span),
    /// A string constant to match.
    Literal(String, Span),
    /// A column to extract, with an optional `: type`.
    Column {
        /// The new column.
        name: Ident,
        /// Its type, if written.
        ty: Option<Ident>,
    },
}

/// `search [kind=…] [in (T, …)] predicate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Parameters (`kind=case_sensitive`).
    pub params: Vec<OperatorParam>,
    /// `in (T1, T2)`: the tables searched, if written.
    pub tables: Vec<Ident>,
    /// What to search for: `*` ([`ExprKind::Wildcard`]), a string term, or a predicate.
    pub predicate: Expr,
}

/// `make-series [params] aggs on axis [from a] [to b] step s [by groups]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeries {
    /// Parameters (`kind=nonempty`).
    pub params: Vec<OperatorParam>,
    /// The aggregates with their `default=` value.
    pub aggregates: Vec<MakeSeriesAgg>,
    /// The axis column after `on`.
    pub on: Expr,
    /// `from` bound, if written.
    pub from: Option<Expr>,
    /// `to` bound, if written.
    pub to: Option<Expr>,
    /// `step` size.
    pub step: Expr,
    /// Group keys after `by`.
    pub by: Vec<NamedExpr>,
}

/// One aggregate of `make-series`: `[name =] agg [default = value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeriesAgg {
    /// The aggregate with its optional name.
    pub agg: NamedExpr,
    /// `default = value`, if written.
    pub default: Option<Expr>,
}

/// `datatable(col: type, …) [ v, … ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Datatable {
    /// The columns: name and type name.
    pub columns: Vec<(Ident, Ident)>,
    /// The values, row after row (`columns.len()` per row).
    pub values: Vec<Expr>,
}

/// `range col from a to b step s`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The produced column.
    pub column: Ident,
    /// First value.
    pub from: Expr,
    /// Last value (inclusive).
    pub to: Expr,
    /// Step.
    pub step: Expr,
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written. Parentheses around an expression are not part of its span.
    pub span: Span,
}

impl Expr {
    /// An expression with its span.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }
}

/// The kinds of scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A name: column, `let`-bound scalar, `$left`/`$right` in joins.
    Name(Ident),
    /// `*`, as in `search *`, `arg_max(t, *)`, `count(*)`.
    Wildcard,
    /// `base.member`.
    Member {
        /// The expression accessed.
        base: Box<Expr>,
        /// The member name.
        member: Ident,
    },
    /// `base[index]` or `base.["key"]`.
    Index {
        /// The expression indexed.
        base: Box<Expr>,
        /// The index: a number (arrays) or a string (property bags).
        index: Box<Expr>,
    },
    /// `name(args)`.
    Call {
        /// The function name (case matters: `count` is not `Count`).
        name: Ident,
        /// The arguments; an argument may be a tabular expression ([`ExprKind::Tabular`]).
        args: Vec<Expr>,
    },
    /// `-x`, `+x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr [!]between (low .. high)`.
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
        /// `!between`.
        negated: bool,
    },
    /// `expr op (items)` for `in`, `!in`, `in~`, `!in~`, `has_any`, `has_all`.
    List {
        /// The operator.
        op: ListOp,
        /// The tested value.
        expr: Box<Expr>,
        /// The list; an item may be a name bound to a tabular value or a dynamic array.
        items: Vec<Expr>,
    },
    /// A tabular expression where a scalar function takes one (`toscalar(T | count)`).
    Tabular(Box<TabularExpr>),
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
}

/// Binary operators (comparisons, arithmetic, string predicates, `and`, `or`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=` (also `<>`).
    NotEq,
    /// `=~` (case-insensitive equality).
    EqCi,
    /// `!~`.
    NotEqCi,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `has`.
    Has,
    /// `!has`.
    NotHas,
    /// `has_cs`.
    HasCs,
    /// `!has_cs`.
    NotHasCs,
    /// `hasprefix`.
    HasPrefix,
    /// `!hasprefix`.
    NotHasPrefix,
    /// `hasprefix_cs`.
    HasPrefixCs,
    /// `!hasprefix_cs`.
    NotHasPrefixCs,
    /// `hassuffix`.
    HasSuffix,
    /// `!hassuffix`.
    NotHasSuffix,
    /// `hassuffix_cs`.
    HasSuffixCs,
    /// `!hassuffix_cs`.
    NotHasSuffixCs,
    /// `contains`.
    Contains,
    /// `!contains`.
    NotContains,
    /// `contains_cs`.
    ContainsCs,
    /// `!contains_cs`.
    NotContainsCs,
    /// `startswith`.
    StartsWith,
    /// `!startswith`.
    NotStartsWith,
    /// `startswith_cs`.
    StartsWithCs,
    /// `!startswith_cs`.
    NotStartsWithCs,
    /// `endswith`.
    EndsWith,
    /// `!endswith`.
    NotEndsWith,
    /// `endswith_cs`.
    EndsWithCs,
    /// `!endswith_cs`.
    NotEndsWithCs,
    /// `matches regex`.
    MatchesRegex,
}

impl BinaryOp {
    /// The operator as written in KQL.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "==",
            NotEq => "!=",
            EqCi => "=~",
            NotEqCi => "!~",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Has => "has",
            NotHas => "!has",
            HasCs => "has_cs",
            NotHasCs => "!has_cs",
            HasPrefix => "hasprefix",
            NotHasPrefix => "!hasprefix",
            HasPrefixCs => "hasprefix_cs",
            NotHasPrefixCs => "!hasprefix_cs",
            HasSuffix => "hassuffix",
            NotHasSuffix => "!hassuffix",
            HasSuffixCs => "hassuffix_cs",
            NotHasSuffixCs => "!hassuffix_cs",
            Contains => "contains",
            NotContains => "!contains",
            ContainsCs => "contains_cs",
            NotContainsCs => "!contains_cs",
            StartsWith => "startswith",
            NotStartsWith => "!startswith",
            StartsWithCs => "startswith_cs",
            NotStartsWithCs => "!startswith_cs",
            EndsWith => "endswith",
            NotEndsWith => "!endswith",
            EndsWithCs => "endswith_cs",
            NotEndsWithCs => "!endswith_cs",
            MatchesRegex => "matches regex",
        }
    }

    /// Binding strength: higher binds tighter (`or` 1, `and` 2, comparisons and string
    /// predicates 3, `+ -` 4, `* / %` 5).
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Add | Sub => 4,
            Mul | Div | Mod => 5,
            _ => 3,
        }
    }
}

/// Operators taking a parenthesised list on their right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListOp {
    /// `in` (case-sensitive).
    In,
    /// `!in`.
    NotIn,
    /// `in~` (case-insensitive).
    InCi,
    /// `!in~`.
    NotInCi,
    /// `has_any`.
    HasAny,
    /// `has_all`.
    HasAll,
}

impl ListOp {
    /// The operator as written in KQL.
    pub fn as_str(self) -> &'static str {
        match self {
            ListOp::In => "in",
            ListOp::NotIn => "!in",
            ListOp::InCi => "in~",
            ListOp::NotInCi => "!in~",
            ListOp::HasAny => "has_any",
            ListOp::HasAll => "has_all",
        }
    }
}

/// A literal value, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string (`"…"`, `'…'`, `@"…"`, `h"…"`), escapes processed.
    String(String),
    /// A `long` (plain integers, `long(5)`).
    Long(i64),
    /// An `int` (`int(5)`).
    Int(i32),
    /// A `real` (`1.5`, `1e3`, `real(2)`).
    Real(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `datetime(…)`: nanoseconds since 1970-01-01T00:00:00Z (so years 1678 to 2261 only;
    /// other dates are an invalid literal).
    DateTime(i64),
    /// `5m`, `1h`, `100ms`, `timespan(…)`: nanoseconds.
    Timespan(i64),
    /// `dynamic(…)`.
    Dynamic(Dynamic),
    /// `datetime(null)`, `long(null)`, …: a null of the named scalar type.
    Null(ScalarType),
}

/// KQL scalar types, as written in `datetime(null)`, `typeof(…)`, `datatable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    /// `bool` / `boolean`.
    Bool,
    /// `datetime` / `date`.
    DateTime,
    /// `dynamic`.
    Dynamic,
    /// `guid` / `uuid`.
    Guid,
    /// `int`.
    Int,
    /// `long`.
    Long,
    /// `real` / `double`.
    Real,
    /// `decimal`.
    Decimal,
    /// `string`.
    String,
    /// `timespan` / `time`.
    Timespan,
}

impl ScalarType {
    /// The type for a KQL type name (`double` is `real`, `date` is `datetime`, …).
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name {
            "bool" | "boolean" => ScalarType::Bool,
            "datetime" | "date" => ScalarType::DateTime,
            "dynamic" => ScalarType::Dynamic,
            "guid" | "uuid" | "uniqueid" => ScalarType::Guid,
            "int" | "int32" => ScalarType::Int,
            "long" | "int64" => ScalarType::Long,
            "real" | "double" => ScalarType::Real,
            "decimal" => ScalarType::Decimal,
            "string" => ScalarType::String,
            "timespan" | "time" => ScalarType::Timespan,
            _ => return None,
        })
    }

    /// The canonical type name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::DateTime => "datetime",
            ScalarType::Dynamic => "dynamic",
            ScalarType::Guid => "guid",
            ScalarType::Int => "int",
            ScalarType::Long => "long",
            ScalarType::Real => "real",
            ScalarType::Decimal => "decimal",
            ScalarType::String => "string",
            ScalarType::Timespan => "timespan",
        }
    }
}

/// The value of a `dynamic(…)` literal: JSON plus KQL scalar literals.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Long(i64),
    /// A real number.
    Real(f64),
    /// A string.
    String(String),
    /// A `datetime(…)` inside `dynamic`: nanoseconds since the epoch.
    DateTime(i64),
    /// A timespan inside `dynamic`: nanoseconds.
    Timespan(i64),
    /// `[ … ]`.
    Array(Vec<Dynamic>),
    /// `{ "k": v, … }`, in source order.
    Object(Vec<(String, Dynamic)>),
}
