//! Query results as the checks read them: a small table of typed cells.
//!
//! Checks turn the rows of their KQL into findings; keeping the rows in this plain shape (not
//! Arrow) lets each check's logic be tested on hand-written rows as well as on the engine.

use chrono::{DateTime, Utc};

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Null or missing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (KQL `int`, `long`).
    Int(i64),
    /// A real number (KQL `real`).
    Real(f64),
    /// A string.
    Text(String),
    /// A point in time.
    Time(DateTime<Utc>),
    /// A list (`make_set`, `make_list`).
    List(Vec<Cell>),
}

impl Cell {
    /// The cell as a number: integers and reals, else `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Real(r) if r.is_finite() => Some(*r),
            _ => None,
        }
    }

    /// The cell as text: strings as they are, null as empty.
    pub fn as_text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }

    /// The cell as a list of strings (non-string items skipped).
    pub fn as_text_list(&self) -> Vec<String> {
        match self {
            Cell::List(items) => items
                .iter()
                .filter_map(|c| match c {
                    Cell::Text(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            Cell::Text(s) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A query result: named columns and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultTable {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// A result lacks a column a check reads: the query and the check disagree (a bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query result has no column `{column}` (columns: {available})")]
pub struct MissingColumn {
    /// The column asked for.
    pub column: String,
    /// The columns there are.
    pub available: String,
}

impl ResultTable {
    /// A table from column names and rows.
    pub fn new(columns: &[&str], rows: Vec<Vec<Cell>>) -> ResultTable {
        ResultTable { columns: columns.iter().map(|c| (*c).to_owned()).collect(), rows }
    }

    /// The index of `column`.
    pub fn index(&self, column: &str) -> Result<usize, MissingColumn> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| MissingColumn { column: column.to_owned(), available: self.columns.join(", ") })
    }

    /// Typed access to the rows by column name.
    pub fn reader(&self) -> Reader<'_> {
        Reader { table: self }
    }
}

/// Reads cells of a [`ResultTable`] by column name.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    table: &'a ResultTable,
}

impl<'a> Reader<'a> {
    /// Resolves a column once; the returned accessor reads it from any row.
    pub fn column(&self, name: &str) -> Result<Column, MissingColumn> {
        self.table.index(name).map(Column)
    }
}

/// A resolved column index.
#[derive(Debug, Clone, Copy)]
pub struct Column(usize);

impl Column {
    /// The cell of this column in `row` (null when the row is short).
    pub fn cell<'r>(&self, row: &'r [Cell]) -> &'r Cell {
        row.get(self.0).unwrap_or(&Cell::Null)
    }

    /// The cell as text (empty when null).
    pub fn text<'r>(&self, row: &'r [Cell]) -> &'r str {
        self.cell(row).as_text()
    }

    /// The cell as a number (0 when null or not a number).
    pub fn num(&self, row: &[Cell]) -> f64 {
        self.cell(row).as_f64().unwrap_or(0.0)
    }

    /// The cell as a number, if it is one.
    pub fn opt_num(&self, row: &[Cell]) -> Option<f64> {
        self.cell(row).as_f64()
    }

    /// The cell as a time, if it is one.
    pub fn time(&self, row: &[Cell]) -> Option<DateTime<Utc>> {
        match self.cell(row) {
            Cell::Time(t) => Some(*t),
            _ => None,
        }
    }

    /// The cell as a list of strings.
    pub fn texts(&self, row: &[Cell]) -> Vec<String> {
        self.cell(row).as_text_list()
    }
}
