//! Charts as Kusto draws them (timechart, linechart, columnchart, barchart, piechart): SVG and PNG files, and text for a terminal.
