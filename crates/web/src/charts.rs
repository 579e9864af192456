//! Charts drawn on the server as SVG (no JavaScript): grouped horizontal bars
//! and lines over time. Each chart has a title for assistive technology, and
//! every page that draws one puts the same numbers in a table beside it — the
//! table is the record, the chart the picture.

use std::fmt::Write;

/// GOV.UK colours, in the order series take them; each also has its own dash
/// pattern on line charts so series differ by more than colour.
pub const PALETTE: [&str; 8] = [
    "#1d70b8", "#00703c", "#d4351c", "#4c2c92", "#f47738", "#28a197", "#912b88", "#505a5f",
];
const DASHES: [&str; 8] = [
    "", "8 4", "2 3", "10 3 2 3", "4 4", "1 5", "12 6", "6 2 2 2",
];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        escape(s)
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        escape(&format!("{cut}…"))
    }
}

fn open(id: &str, title: &str, height: f64) -> String {
    let id = escape(id);
    format!(
        "<svg class=\"jp-chart\" viewBox=\"0 0 760 {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title\" focusable=\"false\" font-family=\"arial, sans-serif\"><title id=\"{id}-title\">{} (the table gives the figures)</title>",
        escape(title)
    )
}

fn legend(s: &mut String, series: &[&str], x0: f64, y: f64) {
    let mut x = x0;
    for (i, name) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{colour}\"/><text x=\"{}\" y=\"{y}\" font-size=\"14\" fill=\"#0b0c0c\">{}</text>",
            y - 12.0,
            x + 20.0,
            short(name, 28)
        );
        #[allow(clippy::cast_precision_loss)]
        let width = 40.0 + 8.0 * name.chars().count().min(28) as f64;
        x += width;
    }
}

/// Grouped horizontal bars: a group per row, a bar per series, each bar's
/// value written at its end with `fmt`.
pub fn bars(
    id: &str,
    title: &str,
    series: &[&str],
    rows: &[(String, Vec<i64>)],
    fmt: &dyn Fn(i64) -> String,
) -> String {
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, bar_h, gap) = (300.0_f64, 340.0_f64, 16.0_f64, 4.0_f64);
    #[allow(clippy::cast_precision_loss)]
    let group_h = (bar_h + gap) * series.len().max(1) as f64 + 14.0;
    #[allow(clippy::cast_precision_loss)]
    let height = 34.0 + group_h * rows.len().max(1) as f64;
    let mut s = open(id, title, height);
    if series.len() > 1 {
        legend(&mut s, series, label_w, 20.0);
    }
    for (i, (label, values)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = 34.0 + group_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"14\" fill=\"#0b0c0c\">{}</text>",
            y + bar_h - 2.0,
            short(label, 40)
        );
        for (j, v) in values.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let (by, w) = (
                y + (bar_h + gap) * j as f64,
                bar_w * ((*v).max(0) as f64) / (max as f64),
            );
            let colour = PALETTE[j % PALETTE.len()];
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{by}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"13\" fill=\"#0b0c0c\">{}</text>",
                label_w + w + 6.0,
                by + bar_h - 3.0,
                escape(&fmt(*v))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Lines over time: one per series across the `x` labels, points marked,
/// the scale from nought to the largest value. A missing value (nothing to
/// measure that month) leaves a gap in its line rather than a false nought.
pub fn lines(
    id: &str,
    title: &str,
    x: &[String],
    series: &[(String, Vec<Option<i64>>)],
    fmt: &dyn Fn(i64) -> String,
) -> String {
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let legend_rows = series.len().div_ceil(2).max(1);
    #[allow(clippy::cast_precision_loss)]
    let top = 20.0 + 22.0 * legend_rows as f64;
    let (left, width, plot_h) = (70.0_f64, 660.0_f64, 220.0_f64);
    let height = top + plot_h + 40.0;
    let mut s = open(id, title, height);
    for (row, chunk) in series.chunks(2).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = 20.0 + 22.0 * row as f64;
        for (k, (name, _)) in chunk.iter().enumerate() {
            let i = row * 2 + k;
            #[allow(clippy::cast_precision_loss)]
            let lx = left + 330.0 * k as f64;
            let _ = write!(
                s,
                "<line x1=\"{lx}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{2}\" stroke-width=\"3\" stroke-dasharray=\"{3}\"/><text x=\"{4}\" y=\"{y}\" font-size=\"14\" fill=\"#0b0c0c\">{5}</text>",
                y - 5.0,
                lx + 28.0,
                PALETTE[i % PALETTE.len()],
                DASHES[i % DASHES.len()],
                lx + 34.0,
                short(name, 40)
            );
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let py = |v: i64| top + plot_h - plot_h * (v.max(0) as f64) / (max as f64);
    #[allow(clippy::cast_precision_loss)]
    let px = |i: usize| {
        if x.len() <= 1 {
            left + width / 2.0
        } else {
            left + width * i as f64 / (x.len() - 1) as f64
        }
    };
    for v in [0, max / 2, max] {
        let y = py(v);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#b1b4b6\" stroke-width=\"1\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"12\" fill=\"#0b0c0c\" text-anchor=\"end\">{}</text>",
            left + width,
            left - 6.0,
            y + 4.0,
            escape(&fmt(v))
        );
    }
    for (i, label) in x.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#0b0c0c\" text-anchor=\"middle\">{}</text>",
            px(i),
            top + plot_h + 20.0,
            short(label, 12)
        );
    }
    for (i, (_, values)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        // Each unbroken run of values is one polyline.
        let mut runs: Vec<Vec<String>> = vec![Vec::new()];
        for (k, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    if let Some(run) = runs.last_mut() {
                        run.push(format!("{:.1},{:.1}", px(k), py(*v)));
                    }
                }
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| r.len() > 1) {
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"3\" stroke-dasharray=\"{}\" points=\"{}\"/>",
                DASHES[i % DASHES.len()],
                run.join(" ")
            );
        }
        for (k, v) in values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
        {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\"/>",
                px(k),
                py(v)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_values_written() {
        let svg = bars(
            "t",
            "A & B",
            &["Count"],
            &[("<Agency> & Co".into(), vec![3])],
            &|v| v.to_string(),
        );
        assert!(svg.contains("&lt;Agency&gt; &amp; Co"));
        assert!(svg.contains("A &amp; B"));
        assert!(svg.contains(">3</text>"));
        assert!(!svg.contains("<Agency>"));
    }

    #[test]
    fn lines_mark_every_point_leave_gaps_and_survive_all_zeros() {
        let svg = lines(
            "l",
            "Needs",
            &["2024/25".into(), "2025/26".into(), "2026/27".into()],
            &[
                ("Health".into(), vec![Some(0), Some(0), Some(0)]),
                ("Care".into(), vec![Some(1), None, Some(2)]),
            ],
            &|v| v.to_string(),
        );
        assert_eq!(svg.matches("<circle").count(), 5);
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "the gap breaks Care's line"
        );
        assert!(!svg.contains("NaN"));
    }
}
