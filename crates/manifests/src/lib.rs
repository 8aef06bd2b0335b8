//! Admission webhook configurations (and the Namespaces they select) and API Priority and
//! Fairness objects read from manifests, and their checks (codes `WHK…`, `APF…`).
//!
//! The manifests are what `kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations,
//! flowschemas,prioritylevelconfigurations,namespaces -o yaml` prints, an install manifest (`helm template`, a release's YAML), or a directory of
//! such files: YAML (one or many documents) or JSON, single objects or `List`s. Objects of other
//! kinds are counted and left out. A document that cannot be read is reported with its file
//! and line and skipped; the others are kept.

pub mod apf;
pub mod checks;
pub mod load;
pub mod report;
pub mod selector;
pub mod webhook;

pub use apf::{FlowSchema, FlowSubject, PriorityLevel};
pub use load::{FileSummary, LoadError, Manifests, Problem, load_paths, parse_text};
pub use selector::{LabelSelector, Operator, Requirement};
pub use webhook::{FailurePolicy, Rule, ServiceRef, Webhook, WebhookConfiguration};
