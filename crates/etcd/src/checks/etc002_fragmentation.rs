//! ETC002 etcd-fragmentation: much of a member's database file is free space.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};
use metrics::checks::{Draft, format_bytes, remedies, watch};

use crate::EtcdEvidence;

/// ETC002.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC002",
    name: "etcd-fragmentation",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Etcd,
    thresholds: &[n::ETCD_FRAGMENTATION_RATIO, n::ETCD_FRAGMENTATION_MIN_BYTES],
    doc: r#"## What it detects
A member whose database in use (`dbSizeInUse`, `etcd_mvcc_db_total_size_in_use_in_bytes`) is
less than half of its allocated size while more than 100 MiB is in use: the etcd-mixin's
`etcdDatabaseHighFragmentationRatio` rule.

## Why it matters
Compaction frees space inside the file but does not shrink it; the quota counts the file.
A fragmented member can hit `NOSPACE` with half its file empty.

## Example
`https://10.0.0.5:2379`: 600 MiB in use of a 1.8 GiB file (33%).

## Remedy
Defragment the member (it blocks that member while it runs: one member at a time, the
leader last).

## References
- etcd maintenance (defragmentation): https://etcd.io/docs/v3.5/op-guide/maintenance/#defragmentation
- etcd-mixin runbook: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
"#,
};

/// Runs ETC002.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let access = super::access(ev);
    for m in &ev.members {
        let (Some(total), Some(in_use)) = (m.db_total_bytes(), m.db_in_use_bytes()) else { continue };
        if total <= 0.0 {
            continue;
        }
        let ratio = in_use / total;
        if ratio >= t.value(n::ETCD_FRAGMENTATION_RATIO) || in_use <= t.value(n::ETCD_FRAGMENTATION_MIN_BYTES)
        {
            continue;
        }
        out.push(
            Draft {
                severity: Severity::Warning,
                title: format!(
                    "etcd member {} is fragmented: {} in use of a {} file ({:.0}%)",
                    m.name,
                    format_bytes(in_use),
                    format_bytes(total),
                    ratio * 100.0
                ),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "{} of the {} database file of {} is free space left by compaction. The quota counts the file, so defragmenting gives back {}.",
                    format_bytes(total - in_use),
                    format_bytes(total),
                    m.name,
                    format_bytes(total - in_use)
                ),
                source: m.source(),
                measures: vec![
                    Measure::new("database size", total, "bytes"),
                    Measure::new("in use", in_use, "bytes"),
                    Measure::new("in use over size", ratio, "ratio"),
                ],
                table: None,
                thresholds: vec![n::ETCD_FRAGMENTATION_RATIO, n::ETCD_FRAGMENTATION_MIN_BYTES],
                remedies: vec![
                    remedies::defragment_for(&access),
                    watch("etcd_mvcc_db_total_size_in_use_in_bytes / etcd_mvcc_db_total_size_in_bytes"),
                ],
            }
            .into_finding(&INFO, t),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{evidence, metrics};

    #[test]
    fn needs_both_a_low_ratio_and_enough_data_in_use() {
        let mib = 1024.0 * 1024.0;
        let count = |total: f64, in_use: f64| {
            let mut m = metrics();
            m.db_total_bytes = Some(total);
            m.db_in_use_bytes = Some(in_use);
            let mut out = Vec::new();
            run(&evidence(m), &Thresholds::default(), &mut out);
            out.len()
        };
        assert_eq!(count(1800.0 * mib, 600.0 * mib), 1);
        assert_eq!(count(1800.0 * mib, 1000.0 * mib), 0, "56% in use");
        assert_eq!(count(150.0 * mib, 50.0 * mib), 0, "only 50 MiB in use");
    }
}
