//! Reports from one model: terminal text, JSON, Markdown, self-contained HTML with SVG charts.
