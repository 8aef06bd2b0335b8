//! Prometheus and OpenMetrics text parsing, histogram quantiles, rates, and the metrics checks.
