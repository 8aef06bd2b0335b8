//! KQL scalar types and how each is held in Arrow.
//!
//! Kusto has ten scalar types; we run eight of them. A `dynamic` value is held one of two
//! ways: as JSON text (what `parse_json` of a string gives, and every value built at run
//! time), or "native": the typed Arrow column it was read from (`ObjectRef.resource` is the
//! canonical `object_resource` Utf8 column, `SourceIps` the `source_ips` list column). The
//! planner tracks which, so a member access on the event is a column read, not a JSON parse.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, TimeUnit};

/// The shape of a `dynamic` value held natively (not as JSON text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Native {
    /// A string (Utf8, nullable).
    Str,
    /// A whole number (Int32 or Int64).
    Long,
    /// A datetime (timestamp, nanoseconds UTC); JSON renders it as an RFC 3339 string.
    DateTime,
    /// A list of strings.
    StrList,
    /// A map from string to string.
    StrMap,
    /// A boolean.
    Bool,
    /// A real number.
    Real,
}

/// A KQL scalar type, with the Arrow representation of `dynamic` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KType {
    /// `bool`.
    Bool,
    /// `int` (32-bit).
    Int,
    /// `long` (64-bit).
    Long,
    /// `real` (double).
    Real,
    /// `string` (never null in Kusto: missing is the empty string).
    String,
    /// `datetime`: Arrow timestamp, nanoseconds, UTC.
    DateTime,
    /// `timespan`: Arrow duration, nanoseconds.
    TimeSpan,
    /// `guid`, held as its string form.
    Guid,
    /// `dynamic` held as JSON text (Utf8).
    Dynamic,
    /// `dynamic` held as a native Arrow value.
    DynNative(Native),
}

impl KType {
    /// The Kusto type name, as `getschema` prints it.
    pub fn name(self) -> &'static str {
        match self {
            KType::Bool => "bool",
            KType::Int => "int",
            KType::Long => "long",
            KType::Real => "real",
            KType::String => "string",
            KType::DateTime => "datetime",
            KType::TimeSpan => "timespan",
            KType::Guid => "guid",
            KType::Dynamic | KType::DynNative(_) => "dynamic",
        }
    }

    /// The .NET type Kusto reports for the type (`getschema`'s `DataType`).
    pub fn dotnet_name(self) -> &'static str {
        match self {
            KType::Bool => "System.SByte",
            KType::Int => "System.Int32",
            KType::Long => "System.Int64",
            KType::Real => "System.Double",
            KType::String => "System.String",
            KType::DateTime => "System.DateTime",
            KType::TimeSpan => "System.TimeSpan",
            KType::Guid => "System.Guid",
            KType::Dynamic | KType::DynNative(_) => "System.Object",
        }
    }

    /// True for both representations of `dynamic`.
    pub fn is_dynamic(self) -> bool {
        matches!(self, KType::Dynamic | KType::DynNative(_))
    }

    /// True for `int`, `long` and `real`.
    pub fn is_numeric(self) -> bool {
        matches!(self, KType::Int | KType::Long | KType::Real)
    }

    /// True for strings and guids (held as Utf8, never null).
    pub fn is_stringy(self) -> bool {
        matches!(self, KType::String | KType::Guid)
    }

    /// The Arrow type holding values of this type (for natives, the canonical column type).
    pub fn arrow(self) -> DataType {
        match self {
            KType::Bool | KType::DynNative(Native::Bool) => DataType::Boolean,
            KType::Int => DataType::Int32,
            KType::Long | KType::DynNative(Native::Long) => DataType::Int64,
            KType::Real | KType::DynNative(Native::Real) => DataType::Float64,
            KType::String | KType::Guid | KType::Dynamic | KType::DynNative(Native::Str) => DataType::Utf8,
            KType::DateTime | KType::DynNative(Native::DateTime) => timestamp(),
            KType::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
            KType::DynNative(Native::StrList) => string_list(),
            KType::DynNative(Native::StrMap) => audit::canonical_schema()
                .field_with_name(audit::col::ANNOTATIONS)
                .map(|f| f.data_type().clone())
                .unwrap_or(DataType::Utf8),
        }
    }

    /// The KQL type of a value that DataFusion typed as `dt` (used for results of built-ins).
    pub fn from_arrow(dt: &DataType) -> KType {
        match dt {
            DataType::Boolean => KType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
                KType::Int
            }
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => KType::Long,
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
                KType::Real
            }
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => KType::DateTime,
            DataType::Duration(_) | DataType::Interval(_) => KType::TimeSpan,
            DataType::List(_) | DataType::LargeList(_) => KType::DynNative(Native::StrList),
            DataType::Map(..) => KType::DynNative(Native::StrMap),
            _ => KType::String,
        }
    }

    /// Parses a Kusto type name (`typeof(long)`, `col:string` in `parse`).
    pub fn parse(name: &str) -> Option<KType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => KType::Bool,
            "int" | "int32" => KType::Int,
            "long" | "int64" => KType::Long,
            "real" | "double" | "decimal" => KType::Real,
            "string" => KType::String,
            "datetime" | "date" => KType::DateTime,
            "timespan" | "time" => KType::TimeSpan,
            "guid" | "uniqueid" => KType::Guid,
            "dynamic" => KType::Dynamic,
            _ => return None,
        })
    }
}

impl fmt::Display for KType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Timestamp type of every datetime: nanoseconds, UTC.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// A list of nullable strings.
pub fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_parse_back() {
        for t in [
            KType::Bool,
            KType::Int,
            KType::Long,
            KType::Real,
            KType::String,
            KType::DateTime,
            KType::TimeSpan,
        ] {
            assert_eq!(KType::parse(t.name()), Some(t));
        }
        assert_eq!(KType::parse("double"), Some(KType::Real));
        assert_eq!(KType::parse("nonsense"), None);
    }
}
