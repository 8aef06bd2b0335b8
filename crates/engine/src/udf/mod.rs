//! KQL scalar and aggregate functions that DataFusion does not have with Kusto's semantics.
//!
//! Each scalar function is a [`KqlFn`]: a name, a return-type rule and a vectorised body over
//! Arrow arrays. The planner casts arguments to the types a body expects before calling it, so
//! bodies only check shapes, never coerce.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub mod aggregates;
pub mod arrays;
pub mod compare;
pub mod dynamic;
pub mod encoding;
pub mod ip;
pub mod math;
pub mod series;
pub mod session;
pub mod strings;
pub mod tdigest;
pub mod time;

/// Computes the return type from the argument types.
pub type ReturnFn = fn(&[DataType]) -> Result<DataType>;
/// Evaluates the function over a batch: arguments and the number of rows.
pub type InvokeFn = fn(&[ColumnarValue], usize) -> Result<ColumnarValue>;

/// A KQL scalar function implemented over Arrow arrays.
pub struct KqlFn {
    name: &'static str,
    signature: Signature,
    ret: ReturnFn,
    invoke: InvokeFn,
}

impl std::fmt::Debug for KqlFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KqlFn").field("name", &self.name).finish()
    }
}

impl PartialEq for KqlFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for KqlFn {}

impl Hash for KqlFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for KqlFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.ret)(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        (self.invoke)(&args.args, args.number_rows)
    }
}

/// Builds a UDF from its parts.
pub fn make(name: &'static str, ret: ReturnFn, invoke: InvokeFn) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(KqlFn {
        name,
        signature: Signature::variadic_any(Volatility::Immutable),
        ret,
        invoke,
    }))
}

/// Return-type rules shared by many functions.
pub mod ret {
    use super::*;

    /// Always Utf8.
    pub fn utf8(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    /// Always Boolean.
    pub fn boolean(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    /// Always Int64.
    pub fn int64(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    /// Always Float64.
    pub fn float64(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    /// Always a UTC nanosecond timestamp.
    pub fn timestamp(_: &[DataType]) -> Result<DataType> {
        Ok(crate::types::timestamp())
    }
    /// Always a nanosecond duration.
    pub fn duration(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Duration(arrow::datatypes::TimeUnit::Nanosecond))
    }
    /// The type of the first argument.
    pub fn first(args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(t) => Ok(t.clone()),
            None => exec_err!("function needs an argument"),
        }
    }
    /// The string type of the first argument (Utf8 for a null).
    pub fn string_like(args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(t @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)) => Ok(t.clone()),
            _ => Ok(DataType::Utf8),
        }
    }
    /// A list of strings.
    pub fn string_list(_: &[DataType]) -> Result<DataType> {
        Ok(crate::types::string_list())
    }
}

/// The constant string of a scalar argument (`None` for columns and nulls).
pub fn scalar_str(v: &ColumnarValue) -> Option<&str> {
    match v {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
        ) => Some(s.as_str()),
        _ => None,
    }
}

/// The constant integer of a scalar argument.
pub fn scalar_i64(v: &ColumnarValue) -> Option<i64> {
    match v {
        ColumnarValue::Scalar(s) => match s {
            ScalarValue::Int64(Some(n)) => Some(*n),
            ScalarValue::Int32(Some(n)) => Some(i64::from(*n)),
            ScalarValue::DurationNanosecond(Some(n)) => Some(*n),
            ScalarValue::Float64(Some(f)) => Some(*f as i64),
            _ => None,
        },
        ColumnarValue::Array(_) => None,
    }
}

/// An argument as an array of `rows` values.
pub fn arg_array(v: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    v.to_array(rows)
}

/// Reads row `i` of a Utf8 / LargeUtf8 / Utf8View array (`None` when null).
pub fn str_at(a: &dyn Array, i: usize) -> Option<&str> {
    StrCol::new(a).get(i)
}

/// A text column read row by row, the array's type resolved once rather than at every row
/// (a loop over rows builds one; [`str_at`] reads a single row).
#[derive(Clone, Copy)]
pub enum StrCol<'a> {
    Utf8(&'a arrow::array::StringArray),
    Large(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
    /// Not text: every row reads as null, as [`str_at`] reads it.
    Other,
}

impl<'a> StrCol<'a> {
    pub fn new(a: &'a dyn Array) -> StrCol<'a> {
        match a.data_type() {
            DataType::Utf8 => StrCol::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => StrCol::Large(a.as_string::<i64>()),
            DataType::Utf8View => StrCol::View(a.as_string_view()),
            _ => StrCol::Other,
        }
    }

    /// Row `i` (`None` when null).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrCol::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Other => None,
        }
    }
}

/// Returns an array as a result, collapsing to a scalar when every input was scalar.
pub fn finish(array: ArrayRef, args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    if all_scalar && array.len() == 1 {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Number of rows to compute: 1 when every argument is a scalar.
pub fn rows_for(args: &[ColumnarValue], rows: usize) -> usize {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) { 1 } else { rows }
}

macro_rules! udfs {
    ($($ident:ident => $name:literal, $ret:path, $invoke:path;)*) => {
        /// Every scalar UDF, by KQL-internal name.
        pub struct Udfs {
            $(
                #[doc = concat!("`", $name, "`")]
                pub $ident: Arc<ScalarUDF>,
            )*
        }

        static UDFS: LazyLock<Udfs> = LazyLock::new(|| Udfs {
            $($ident: make($name, $ret, $invoke),)*
        });
    };
}

udfs! {
    has => "kql_has", ret::boolean, strings::has;
    has_cs => "kql_has_cs", ret::boolean, strings::has_cs;
    has_any => "kql_has_any", ret::boolean, strings::has_any;
    has_all => "kql_has_all", ret::boolean, strings::has_all;
    hasprefix => "kql_hasprefix", ret::boolean, strings::hasprefix;
    hassuffix => "kql_hassuffix", ret::boolean, strings::hassuffix;
    hasprefix_cs => "kql_hasprefix_cs", ret::boolean, strings::hasprefix_cs;
    hassuffix_cs => "kql_hassuffix_cs", ret::boolean, strings::hassuffix_cs;
    contains => "kql_contains", ret::boolean, strings::contains;
    contains_cs => "kql_contains_cs", ret::boolean, strings::contains_cs;
    startswith => "kql_startswith", ret::boolean, strings::startswith;
    startswith_cs => "kql_startswith_cs", ret::boolean, strings::startswith_cs;
    endswith => "kql_endswith", ret::boolean, strings::endswith;
    endswith_cs => "kql_endswith_cs", ret::boolean, strings::endswith_cs;
    eq_ci => "kql_eq_ci", ret::boolean, strings::eq_ci;
    str_eq => "kql_str_eq", ret::boolean, compare::str_eq;
    str_ne => "kql_str_ne", ret::boolean, compare::str_ne;
    in_ci => "kql_in_ci", ret::boolean, strings::in_ci;
    in_set => "kql_in_set", ret::boolean, compare::in_set;
    matches_regex => "kql_matches_regex", ret::boolean, strings::matches_regex;
    substring => "kql_substring", ret::utf8, strings::substring;
    extract => "kql_extract", ret::utf8, strings::extract;
    extractall => "kql_extractall", ret::utf8, strings::extractall;
    replace_regex => "kql_replace_regex", ret::utf8, strings::replace_regex;
    replace_string => "kql_replace_string", ret::utf8, strings::replace_string;
    split => "kql_split", ret::utf8, strings::split;
    url_decode => "kql_url_decode", ret::utf8, strings::url_decode;
    empty_if_null => "kql_empty_if_null", ret::string_like, strings::empty_if_null;
    first_present => "kql_first_present", ret::first, strings::first_present;
    url_encode => "kql_url_encode", ret::utf8, strings::url_encode;
    url_encode_component => "kql_url_encode_component", ret::utf8, strings::url_encode_component;
    go_escape_json => "kql_go_escape_json", ret::utf8, strings::go_escape_json_udf;
    strlen => "kql_strlen", ret::int64, strings::strlen;
    indexof => "kql_indexof", ret::int64, strings::indexof;
    parse_with => "kql_parse_with", ret::string_list, strings::parse_with;
    tostring => "kql_tostring", ret::utf8, dynamic::tostring;
    to_json => "kql_to_json", ret::utf8, dynamic::to_json;
    dyn_get => "kql_dyn_get", ret::utf8, dynamic::dyn_get;
    dyn_to_string => "kql_dyn_to_string", ret::utf8, dynamic::dyn_to_string;
    dyn_to_long => "kql_dyn_to_long", ret::int64, dynamic::dyn_to_long;
    dyn_to_real => "kql_dyn_to_real", ret::float64, dynamic::dyn_to_real;
    dyn_number => "kql_dyn_number", ret::float64, dynamic::dyn_number;
    dyn_to_bool => "kql_dyn_to_bool", ret::boolean, dynamic::dyn_to_bool;
    dyn_cast_long => "kql_dyn_cast_long", ret::int64, dynamic::dyn_cast_long;
    dyn_cast_bool => "kql_dyn_cast_bool", ret::boolean, dynamic::dyn_cast_bool;
    dyn_cast_string => "kql_dyn_cast_string", ret::utf8, dynamic::dyn_cast_string;
    dyn_to_datetime => "kql_dyn_to_datetime", ret::timestamp, dynamic::dyn_to_datetime;
    dyn_to_timespan => "kql_dyn_to_timespan", ret::duration, dynamic::dyn_to_timespan;
    dyn_elements => "kql_dyn_elements", ret::string_list, dynamic::dyn_elements;
    bag_pairs => "kql_bag_pairs", ret::utf8, dynamic::bag_pairs;
    dyn_array_length => "kql_array_length", ret::int64, dynamic::array_length;
    strcat_array => "kql_strcat_array", ret::utf8, dynamic::strcat_array;
    pack => "kql_pack", ret::utf8, dynamic::pack;
    pack_array => "kql_pack_array", ret::utf8, dynamic::pack_array;
    map_get => "kql_map_get", ret::utf8, dynamic::map_get;
    list_get => "kql_list_get", ret::utf8, dynamic::list_get;
    bag_keys => "kql_bag_keys", ret::utf8, dynamic::bag_keys;
    dyn_get_at => "kql_dyn_get_at", ret::utf8, dynamic::dyn_get_at;
    to_long => "kql_to_long", ret::int64, dynamic::str_to_long;
    to_real => "kql_to_real", ret::float64, dynamic::str_to_real;
    to_bool => "kql_to_bool", ret::boolean, dynamic::str_to_bool;
    datetime_diff => "kql_datetime_diff", ret::int64, time::datetime_diff;
    series_fill => "kql_series_fill", ret::utf8, series::series_fill;
    series_axis => "kql_series_axis", ret::utf8, series::series_axis;
    bin_datetime => "kql_bin_datetime", ret::timestamp, time::bin_datetime;
    bin_number => "kql_bin_number", ret::first, time::bin_number;
    to_datetime => "kql_to_datetime", ret::timestamp, time::to_datetime;
    to_timespan => "kql_to_timespan", ret::duration, time::to_timespan;
    format_datetime => "kql_format_datetime", ret::utf8, time::format_datetime;
    format_timespan => "kql_format_timespan", ret::utf8, time::format_timespan;
    start_of => "kql_start_of", ret::timestamp, time::start_of;
    datetime_part => "kql_datetime_part", ret::int64, time::datetime_part;
    unixtime => "kql_unixtime", ret::timestamp, time::unixtime;
    countof => "kql_countof", ret::int64, strings::countof;
    strrep => "kql_strrep", ret::utf8, strings::strrep;
    tohex => "kql_tohex", ret::utf8, strings::tohex;
    parse_ipv4 => "kql_parse_ipv4", ret::int64, ip::parse_ipv4;
    ipv4_is_private => "kql_ipv4_is_private", ret::boolean, ip::ipv4_is_private;
    ipv4_is_in_any_range => "kql_ipv4_is_in_any_range", ret::boolean, ip::ipv4_is_in_any_range;
    ipv4_compare => "kql_ipv4_compare", ret::int64, ip::ipv4_compare;
    format_ipv4 => "kql_format_ipv4", ret::utf8, ip::format_ipv4;
    ipv4_netmask_suffix => "kql_ipv4_netmask_suffix", ret::int64, ip::ipv4_netmask_suffix;
    ipv6_compare => "kql_ipv6_compare", ret::int64, ip::ipv6_compare;
    parse_ipv6 => "kql_parse_ipv6", ret::utf8, ip::parse_ipv6;
    ipv6_is_in_any_range => "kql_ipv6_is_in_any_range", ret::boolean, ip::ipv6_is_in_any_range;
    parse_url => "kql_parse_url", ret::utf8, encoding::parse_url;
    parse_urlquery => "kql_parse_urlquery", ret::utf8, encoding::parse_urlquery;
    parse_path => "kql_parse_path", ret::utf8, encoding::parse_path;
    base64_encode => "kql_base64_encode", ret::utf8, encoding::base64_encode;
    base64_decode => "kql_base64_decode", ret::utf8, encoding::base64_decode;
    base64_decode_toarray => "kql_base64_decode_toarray", ret::utf8, encoding::base64_decode_toarray;
    base64_encode_fromarray => "kql_base64_encode_fromarray", ret::utf8, encoding::base64_encode_fromarray;
    base64_encode_fromguid => "kql_base64_encode_fromguid", ret::utf8, encoding::base64_encode_fromguid;
    base64_decode_toguid => "kql_base64_decode_toguid", ret::utf8, encoding::base64_decode_toguid;
    digest => "kql_digest", ret::utf8, encoding::digest;
    xxhash64 => "kql_xxhash64", ret::int64, encoding::xxhash64;
    float_class => "kql_float_class", ret::boolean, math::float_class;
    parse_kv => "kql_parse_kv", ret::string_list, strings::parse_kv;
    dyn_op => "kql_dyn_op", ret::utf8, arrays::dyn_op;
    percentile_tdigest => "kql_percentile_tdigest", ret::float64, tdigest::percentile_tdigest;
    make_timespan => "kql_make_timespan", ret::duration, math::make_timespan;
    checked_nanos => "kql_checked_nanos", ret::int64, math::checked_nanos;
    tz_convert => "kql_tz_convert", ret::timestamp, time::tz_convert;
}

/// The scalar UDFs.
pub fn udfs() -> &'static Udfs {
    &UDFS
}

/// `s` with nulls as empty strings (Kusto's strings are never null), without copying.
pub fn empty_if_null(s: Expr) -> Expr {
    call(&udfs().empty_if_null, vec![s])
}

/// Calls a UDF with arguments.
pub fn call(udf: &Arc<ScalarUDF>, args: Vec<Expr>) -> Expr {
    udf.call(args)
}
