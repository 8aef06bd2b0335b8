//! A realistic large cluster with real-shaped problems: audit logs in every format, metrics, webhooks and APF objects.
