//! The four KQL tables as views over the canonical events.
//!
//! Every table starts from the same scan, with the canonical columns renamed to hidden names
//! (see [`crate::event::hidden`]); its visible columns are expressions over them, so a column
//! nobody reads is never computed, and a dynamic column (`ObjectRef`, `User`, the event inside
//! `log_s`) is a virtual object whose members are column reads.
//!
//! - `KubeAudit`: the API server's own field names, nested as in the Event.
//! - `AKSAudit`: Azure's resource-specific columns, every event.
//! - `AKSAuditAdmin`: the same columns without `get` and `list` requests.
//! - `AzureDiagnostics`: each event once as `Category == "kube-audit"` and, unless its verb is
//!   `get` or `list`, once more as `"kube-audit-admin"`, as Azure writes them when both
//!   categories are enabled; `log_s` is the event JSON.
//!
//! `TimeGenerated` is the event's Azure time when the input carried one, else its
//! `stageTimestamp`.

use audit::col;
use datafusion::common::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::prelude::{lower, upper};

use crate::event::{hcol, log_line_json};
use crate::plan::value::{Seg, TExpr, Value, in_list};
use crate::plan::{Binding, Rel};
use crate::types::KType;
use crate::udf::{call, empty_if_null, udfs};

/// The table names, sorted (for "did you mean" and `union *`).
pub const TABLES: &[&str] = &["AKSAudit", "AKSAuditAdmin", "AzureDiagnostics", "KubeAudit"];

fn string(c: &str) -> Value {
    Value::expr(empty_if_null(hcol(c)), KType::String)
}

fn datetime(c: &str) -> Value {
    Value::expr(hcol(c), KType::DateTime)
}

fn event(path: &[&str]) -> Value {
    Value::Event(path.iter().map(|k| Seg::Key((*k).to_owned())).collect())
}

fn constant(s: &str) -> Value {
    Value::expr(lit(s), KType::String)
}

fn time_generated() -> Value {
    Value::expr(
        call(&udfs().first_present, vec![hcol(col::TIME_GENERATED), hcol(col::STAGE_TIMESTAMP)]),
        KType::DateTime,
    )
}

fn resource_id() -> Expr {
    empty_if_null(hcol(col::CLUSTER_RESOURCE_ID))
}

fn extract_from(text: Expr, regex: &str) -> Value {
    Value::expr(call(&udfs().extract, vec![text, lit(regex), lit(1i64)]), KType::String)
}

fn bind(cols: Vec<(&str, Value)>) -> Vec<Binding> {
    cols.into_iter().map(|(n, v)| Binding { name: n.to_owned(), value: v }).collect()
}

fn not_get_or_list() -> Expr {
    let verb = empty_if_null(hcol(col::VERB));
    in_list(verb, vec![lit("get"), lit("list")], true)
}

fn aks_columns(table: &str) -> Vec<Binding> {
    bind(vec![
        ("TimeGenerated", time_generated()),
        ("Level", string(col::LEVEL)),
        ("AuditId", string(col::AUDIT_ID)),
        ("Stage", string(col::STAGE)),
        ("RequestUri", string(col::REQUEST_URI)),
        ("Verb", string(col::VERB)),
        ("User", event(&["user"])),
        ("SourceIps", event(&["sourceIPs"])),
        ("UserAgent", string(col::USER_AGENT)),
        ("ObjectRef", event(&["objectRef"])),
        ("ResponseStatus", event(&["responseStatus"])),
        ("RequestObject", event(&["requestObject"])),
        ("ResponseObject", event(&["responseObject"])),
        ("RequestReceivedTime", datetime(col::REQUEST_RECEIVED_TIMESTAMP)),
        ("StageReceivedTime", datetime(col::STAGE_TIMESTAMP)),
        ("Annotations", event(&["annotations"])),
        ("PodName", string(col::APISERVER_POD)),
        ("SourceSystem", constant("Azure")),
        ("TenantId", constant("")),
        ("_ResourceId", Value::expr(lower(resource_id()), KType::String)),
        ("_SubscriptionId", extract_from(lower(resource_id()), "/subscriptions/([^/]+)")),
        ("Type", constant(table)),
        // Not one of Azure's columns (its export leaves impersonation out): the user a request
        // was sent as (`kubectl --as`, a proxy impersonating its users), which API Priority and
        // Fairness classifies it by. Queries that should also run in Log Analytics read it with
        // `column_ifexists("ImpersonatedUser", dynamic(null))`.
        ("ImpersonatedUser", event(&["impersonatedUser"])),
    ])
}

fn kube_audit_columns() -> Vec<Binding> {
    bind(vec![
        ("kind", constant("Event")),
        ("apiVersion", string(col::EVENT_API_VERSION)),
        ("level", string(col::LEVEL)),
        ("auditID", string(col::AUDIT_ID)),
        ("stage", string(col::STAGE)),
        ("requestURI", string(col::REQUEST_URI)),
        ("verb", string(col::VERB)),
        ("user", event(&["user"])),
        ("impersonatedUser", event(&["impersonatedUser"])),
        ("sourceIPs", event(&["sourceIPs"])),
        ("userAgent", string(col::USER_AGENT)),
        ("objectRef", event(&["objectRef"])),
        ("responseStatus", event(&["responseStatus"])),
        ("requestObject", event(&["requestObject"])),
        ("responseObject", event(&["responseObject"])),
        ("requestReceivedTimestamp", datetime(col::REQUEST_RECEIVED_TIMESTAMP)),
        ("stageTimestamp", datetime(col::STAGE_TIMESTAMP)),
        ("annotations", event(&["annotations"])),
    ])
}

fn azure_diagnostics_columns() -> Vec<Binding> {
    let rid_upper = upper(resource_id());
    bind(vec![
        ("TimeGenerated", time_generated()),
        (
            "Category",
            Value::expr(Expr::Column(datafusion::common::Column::from_name("Category")), KType::String),
        ),
        ("log_s", Value::Expr(TExpr { expr: log_line_json(), ty: KType::String, json_of: Some(vec![]) })),
        ("ResourceId", Value::expr(rid_upper.clone(), KType::String)),
        ("pod_s", string(col::APISERVER_POD)),
        ("OperationName", constant("Microsoft.ContainerService/managedClusters/diagnosticLogs/Read")),
        ("ResourceType", constant("MANAGEDCLUSTERS")),
        ("ResourceProvider", constant("MICROSOFT.CONTAINERSERVICE")),
        ("Resource", extract_from(rid_upper.clone(), "/([^/]*)$")),
        ("ResourceGroup", extract_from(rid_upper, "/RESOURCEGROUPS/([^/]+)")),
        ("SubscriptionId", extract_from(lower(resource_id()), "/subscriptions/([^/]+)")),
        ("SourceSystem", constant("Azure")),
        ("TenantId", constant("")),
        ("_ResourceId", Value::expr(lower(resource_id()), KType::String)),
        ("Type", constant("AzureDiagnostics")),
    ])
}

/// The Azure categories the `AzureDiagnostics` table shows the events under: those the input
/// came in (an export of `kube-audit-admin` alone has no `kube-audit` row), and both for
/// events read from an API server's own log, which belong to no category (what Azure writes
/// with both enabled: every event as `kube-audit`, the writes again as `kube-audit-admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Categories {
    /// Every event as `kube-audit`.
    pub audit: bool,
    /// The events other than get and list as `kube-audit-admin`.
    pub admin: bool,
}

impl Categories {
    /// Both categories.
    pub const BOTH: Categories = Categories { audit: true, admin: true };

    /// From `events` stored rows of which `per_category` came with an Azure category, and the
    /// events the inputs held per category (`read`, duplicates included: of an event exported
    /// under both categories the store keeps one copy, whichever came first).
    pub fn of(
        events: u64,
        per_category: &std::collections::BTreeMap<String, u64>,
        read: &std::collections::BTreeMap<String, u64>,
    ) -> Categories {
        let categorized: u64 = per_category.values().sum();
        let has = |c: &str| [per_category, read].iter().any(|m| m.get(c).is_some_and(|n| *n > 0));
        Categories::seen(events > categorized, categorized > 0, has("kube-audit"), has("kube-audit-admin"))
    }

    /// From the `azure_category` column of canonical batches.
    pub fn of_batches(batches: &[arrow::array::RecordBatch]) -> Categories {
        use arrow::array::{Array, AsArray};
        let (mut native, mut categorized, mut audit, mut admin) = (false, false, false, false);
        for b in batches {
            let Some(c) = b.column_by_name(col::AZURE_CATEGORY).and_then(|c| c.as_string_opt::<i32>()) else {
                native |= b.num_rows() > 0;
                continue;
            };
            native |= c.null_count() > 0;
            for v in c.iter().flatten() {
                categorized = true;
                audit |= v == "kube-audit";
                admin |= v == "kube-audit-admin";
            }
        }
        Categories::seen(native, categorized, audit, admin)
    }

    /// Both for events of no category, else the categories seen.
    fn seen(native: bool, categorized: bool, audit: bool, admin: bool) -> Categories {
        if !categorized {
            return Categories::BOTH;
        }
        Categories { audit: native || audit, admin: native || admin }
    }
}

/// The relation for a table name, or `None` when there is no such table.
pub fn table(name: &str, base: &LogicalPlan, categories: Categories) -> Result<Option<Rel>> {
    let rel = match name {
        "AKSAudit" => Rel { plan: base.clone(), cols: aks_columns("AKSAudit"), has_event: true },
        "AKSAuditAdmin" => {
            let plan = LogicalPlanBuilder::from(base.clone()).filter(not_get_or_list())?.build()?;
            Rel { plan, cols: aks_columns("AKSAuditAdmin"), has_event: true }
        }
        "KubeAudit" => Rel { plan: base.clone(), cols: kube_audit_columns(), has_event: true },
        "AzureDiagnostics" => {
            let with_category = |plan: LogicalPlan, category: &str| -> Result<LogicalPlan> {
                let mut exprs: Vec<Expr> = plan.schema().columns().into_iter().map(Expr::Column).collect();
                exprs.push(lit(category.to_owned()).alias("Category"));
                LogicalPlanBuilder::from(plan).project(exprs)?.build()
            };
            let admin = || -> Result<LogicalPlan> {
                let rows = LogicalPlanBuilder::from(base.clone()).filter(not_get_or_list())?.build()?;
                with_category(rows, "kube-audit-admin")
            };
            let plan = match (categories.audit, categories.admin) {
                (true, true) => LogicalPlanBuilder::from(with_category(base.clone(), "kube-audit")?)
                    .union(admin()?)?
                    .build()?,
                (false, true) => admin()?,
                _ => with_category(base.clone(), "kube-audit")?,
            };
            Rel { plan, cols: azure_diagnostics_columns(), has_event: true }
        }
        _ => return Ok(None),
    };
    Ok(Some(rel))
}
