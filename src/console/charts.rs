//! Charts for the compliance console.
//!
//! A compliance reviewer has to see at a glance what the gateway did (how much
//! traffic was allowed, redacted, kept local or blocked, which rules fire most),
//! so these charts favour a few bold shapes, a fixed colour-blind-safe palette
//! and exact counts in the legends over decoration.
//!
//! They are rendered on the server as standalone SVG documents so that the
//! console can embed them as plain images and ship no JavaScript at all. We use
//! a charting library (plotters) instead of assembling SVG by hand so that
//! axes, tick spacing, scaling and text escaping are not ours to get wrong.
//! Only plotters' SVG backend is enabled: it emits text as `<text>` elements,
//! so no font files are needed on the server and the browser picks the font.
//!
//! Escaping: titles and labels come from configuration (rule ids, client
//! names). plotters-svg 0.3.7 XML-escapes `<`, `>`, `&`, `"` and `'` in text
//! content and attribute values itself, so callers' strings are passed through
//! unchanged; escaping them here as well would show `&amp;lt;` to the reader.
//! The `labels_are_xml_escaped` test pins that behaviour in case an upgrade
//! changes it.
//!
//! No function here panics: empty or all-zero data yields a chart saying
//! "no data", and a drawing error yields a chart saying so, because a broken
//! image on a compliance page is worse than an explicit message.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: u32 = 720;
const HEIGHT: u32 = 300;
const FONT: &str = "sans-serif";
const TITLE_SIZE: f64 = 20.0;
const LABEL_SIZE: f64 = 12.0;
const LEGEND_SIZE: f64 = 13.0;
/// Callers send at most this many rows; more would not be readable anyway.
const MAX_ITEMS: usize = 15;
/// Long rule ids or client names would otherwise squeeze the bars away.
const MAX_LABEL_CHARS: usize = 40;
/// Rough advance width of one character at `LABEL_SIZE`, matching the estimate
/// plotters itself uses without font files, so our layout agrees with its own.
const CHAR_PX: f64 = 5.5;
/// Bucket i spans `[i*SLOT, (i+1)*SLOT)` on an integer axis. Integer rather
/// than f64 because plotters only accepts custom key points plus a label
/// formatter on integer axes, and rather than a discrete axis because
/// plotters' discrete axes collapse a one-bucket range.
const SLOT: u64 = 100;
/// Part of a slot left blank on each side, so neighbouring bars stay visibly
/// separate even with 60 buckets.
const BAR_GAP: u64 = 12;

/// Okabe-Ito colours, in the order callers pass allow/redact/local/block, so
/// that the same action always gets the same colour on every chart and stays
/// distinguishable for readers with colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xF0, 0xE4, 0x42), // yellow
    RGBColor(0x00, 0x00, 0x00), // black
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Counts per bucket, stacked by series (e.g. actions allow/redact/local/block per day).
/// `buckets` are x-axis labels in order (e.g. "2026-12-01" or "12-01 13h"); each series has one count per bucket.
pub fn stacked_bars(title: &str, buckets: &[String], series: &[(&str, Vec<u64>)]) -> String {
    let n = buckets.len();
    // A series shorter than `buckets` is read as zeros rather than rejected:
    // a missing count must not take the whole chart down.
    let count = |s: usize, i: usize| series[s].1.get(i).copied().unwrap_or(0);
    let totals: Vec<u64> = (0..n)
        .map(|i| (0..series.len()).fold(0u64, |acc, s| acc.saturating_add(count(s, i))))
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return message(title, (WIDTH, HEIGHT), "no data");
    }

    render(title, (WIDTH, HEIGHT), |body| {
        let legend_width = 170;
        let (plot, legend) =
            body.split_horizontally(body.dim_in_pixel().0.saturating_sub(legend_width));

        // Wide enough for the largest count label, whatever its magnitude.
        let y_label_width = (format_count(max).len() as f64 * CHAR_PX + 14.0).max(40.0) as u32;
        let slot_px =
            f64::from(plot.dim_in_pixel().0.saturating_sub(y_label_width + 20)) / n as f64;
        let widest = buckets.iter().map(|b| b.chars().count()).max().unwrap_or(0);
        let step = label_step(widest, slot_px);

        // Ticks only at the centres of every `step`-th bucket, so thinning is
        // ours and predictable rather than plotters' "nice number" choice.
        let ticks = (0..n as u64).step_by(step).map(slot_centre).collect();
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(y_label_width)
            .build_cartesian_2d(
                (0..n as u64 * SLOT).with_key_points(ticks),
                0u64..headroom(max),
            )?;
        let x_label = |v: &u64| {
            bucket_at(buckets, *v)
                .map(|b| truncate(b))
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&x_label)
            .y_labels(6)
            .y_label_formatter(&|v| format_count(*v))
            .label_style((FONT, LABEL_SIZE))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()?;

        let mut base = vec![0u64; n];
        for (s, _) in series.iter().enumerate() {
            let style = colour(s).filled();
            let bars: Vec<_> = (0..n)
                .filter_map(|i| {
                    let v = count(s, i);
                    let low = base[i];
                    base[i] = low.saturating_add(v);
                    let x = i as u64 * SLOT;
                    (v > 0).then(|| {
                        Rectangle::new([(x + BAR_GAP, low), (x + SLOT - BAR_GAP, base[i])], style)
                    })
                })
                .collect();
            chart.draw_series(bars)?;
        }

        // The legend sits beside the plot, not on it, so it never hides a bar;
        // it carries each series' total because reviewers ask "how many".
        let entries: Vec<_> = series
            .iter()
            .enumerate()
            .map(|(s, (name, _))| {
                let total = (0..n).fold(0u64, |acc, i| acc.saturating_add(count(s, i)));
                (
                    format!("{} ({})", truncate_to(name, 14), format_count(total)),
                    colour(s),
                )
            })
            .collect();
        draw_legend(&legend, &entries, 1, 16)
    })
}

/// Horizontal bars, largest first as given (e.g. entities by type, top rules). Labels may be up to ~40 chars.
pub fn horizontal_bars(title: &str, items: &[(String, u64)]) -> String {
    let items = &items[..items.len().min(MAX_ITEMS)];
    let n = items.len();
    let height = HEIGHT.max(90 + 24 * n as u32);
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    if max == 0 {
        return message(title, (WIDTH, height), "no data");
    }

    render(title, (WIDTH, height), |body| {
        let labels: Vec<String> = items.iter().map(|(l, _)| truncate(l)).collect();
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let y_label_width = (widest as f64 * CHAR_PX + 16.0).clamp(40.0, 300.0) as u32;

        // Extra room on the right so the count printed after the longest bar
        // stays inside the image.
        let x_max = headroom(max).max(max.saturating_add(max / 6));
        // plotters' y axis grows upwards, so row j from the bottom holds item
        // n-1-j: this keeps the caller's "largest first" order top-down.
        let ticks = (0..n as u64).map(slot_centre).collect();
        let mut chart = ChartBuilder::on(body)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(24)
            .y_label_area_size(y_label_width)
            .build_cartesian_2d(0u64..x_max, (0..n as u64 * SLOT).with_key_points(ticks))?;
        let row_label = |v: &u64| {
            bucket_at(&labels, *v)
                .map(|_| labels[n - 1 - (*v / SLOT) as usize].clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_label_formatter(&row_label)
            .x_labels(6)
            .x_label_formatter(&|v| format_count(*v))
            .label_style((FONT, LABEL_SIZE))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .draw()?;

        // With few rows the minimum height would make slabs of the bars;
        // keep them about one line of text thick instead.
        let slot_px = f64::from(body.dim_in_pixel().1.saturating_sub(44)) / n as f64;
        let bar_px = (slot_px * 0.76).min(26.0);
        let gap = if slot_px > 0.0 {
            ((SLOT as f64 * (1.0 - bar_px / slot_px) / 2.0) as u64).clamp(BAR_GAP, SLOT / 2 - 1)
        } else {
            BAR_GAP
        };
        let bar_style = colour(0).filled();
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            let y = (n - 1 - i) as u64 * SLOT;
            Rectangle::new([(0, y + gap), (*v, y + SLOT - gap)], bar_style)
        }))?;

        let value_style = (FONT, LABEL_SIZE)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            EmptyElement::at((*v, slot_centre((n - 1 - i) as u64)))
                + Text::new(format_count(*v), (4, 0), value_style.clone())
        }))?;
        Ok(())
    })
}

/// A single 100% stacked horizontal bar showing shares (e.g. on-premise vs cloud vs blocked), with a legend giving each part's count and percentage.
pub fn shares(title: &str, parts: &[(&str, u64)]) -> String {
    let total = parts
        .iter()
        .fold(0u64, |acc, (_, v)| acc.saturating_add(*v));
    if total == 0 {
        return message(title, (WIDTH, HEIGHT), "no data");
    }
    let percent = |v: u64| v as f64 * 100.0 / total as f64;

    render(title, (WIDTH, HEIGHT), |body| {
        let (bar_area, legend) = body.split_vertically(110);
        let mut chart = ChartBuilder::on(&bar_area)
            .margin(10)
            .margin_left(24)
            .margin_right(24)
            .x_label_area_size(24)
            .build_cartesian_2d(0f64..100f64, 0f64..1f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .x_labels(11)
            .x_label_formatter(&|v| format!("{v:.0}%"))
            .label_style((FONT, LABEL_SIZE))
            .draw()?;

        let mut start = 0.0;
        let mut segments = Vec::new();
        for (k, (_, v)) in parts.iter().enumerate() {
            let end = start + percent(*v);
            if *v > 0 {
                segments.push((k, start, end));
            }
            start = end;
        }
        chart.draw_series(
            segments
                .iter()
                .map(|&(k, from, to)| Rectangle::new([(from, 0.1), (to, 0.9)], colour(k).filled())),
        )?;
        // Percentages inside the bar only where they fit; the legend always
        // has them.
        chart.draw_series(
            segments
                .iter()
                .filter(|(_, from, to)| to - from >= 7.0)
                .map(|&(k, from, to)| {
                    let style = (FONT, LABEL_SIZE)
                        .into_font()
                        .color(&text_on(colour(k)))
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    Text::new(
                        format!("{:.0}%", to - from),
                        ((from + to) / 2.0, 0.5),
                        style,
                    )
                }),
        )?;

        let entries: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(k, (name, v))| {
                (
                    format!(
                        "{}: {} ({:.1}%)",
                        truncate(name),
                        format_count(*v),
                        percent(*v)
                    ),
                    colour(k),
                )
            })
            .collect();
        let columns = parts.len().div_ceil(6).max(1);
        draw_legend(&legend.margin(10, 0, 24, 0), &entries, columns, 22)
    })
}

/// Draws the title, hands the remaining area to `draw`, and turns any drawing
/// error into an explicit message chart instead of a broken image.
fn render(title: &str, size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> String {
    let mut svg = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        (|| -> DrawResult {
            root.fill(&WHITE)?;
            let body = root.titled(&truncate_to(title, 70), (FONT, TITLE_SIZE))?;
            draw(&body)?;
            root.present()?;
            Ok(())
        })()
    };
    match outcome {
        Ok(()) => svg,
        Err(_) => message(title, size, "chart could not be rendered"),
    }
}

/// A chart with only a title and a centred note ("no data"), so the console
/// layout stays the same whether or not there is anything to show.
fn message(title: &str, size: (u32, u32), note: &str) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        // Errors are ignored on purpose: this is the last resort, and the
        // backend closes every open tag when dropped, so the document stays
        // well-formed whatever happened.
        let _ = (|| -> DrawResult {
            root.fill(&WHITE)?;
            let body = root.titled(&truncate_to(title, 70), (FONT, TITLE_SIZE))?;
            let (w, h) = body.dim_in_pixel();
            let style = (FONT, 16)
                .into_font()
                .color(&RGBColor(0x66, 0x66, 0x66))
                .pos(Pos::new(HPos::Center, VPos::Center));
            body.draw(&Text::new(note, (w as i32 / 2, h as i32 / 2), style))?;
            root.present()?;
            Ok(())
        })();
    }
    svg
}

/// Colour swatch plus label per entry, filled column by column.
fn draw_legend(
    area: &Area,
    entries: &[(String, RGBColor)],
    columns: usize,
    top: i32,
) -> DrawResult {
    let rows = entries.len().div_ceil(columns.max(1)).max(1);
    let column_width = area.dim_in_pixel().0 as i32 / columns.max(1) as i32;
    let row_height = 22;
    let style = (FONT, LEGEND_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (label, colour)) in entries.iter().enumerate() {
        let x = (k / rows) as i32 * column_width;
        let y = top + (k % rows) as i32 * row_height;
        area.draw(&Rectangle::new(
            [(x, y - 6), (x + 12, y + 6)],
            colour.filled(),
        ))?;
        area.draw(&Text::new(label.as_str(), (x + 18, y), style.clone()))?;
    }
    Ok(())
}

/// Show every `step`-th bucket label so that up to 60 buckets never overlap.
fn label_step(widest_label_chars: usize, slot_px: f64) -> usize {
    let label_px = widest_label_chars.min(MAX_LABEL_CHARS) as f64 * CHAR_PX + 12.0;
    if slot_px <= 0.0 {
        return usize::MAX;
    }
    ((label_px / slot_px).ceil() as usize).max(1)
}

fn slot_centre(index: u64) -> u64 {
    index * SLOT + SLOT / 2
}

/// The bucket whose slot contains `position`, if any.
fn bucket_at<T>(buckets: &[T], position: u64) -> Option<&T> {
    usize::try_from(position / SLOT)
        .ok()
        .and_then(|i| buckets.get(i))
}

/// A little space above the highest bar so it does not touch the frame.
fn headroom(max: u64) -> u64 {
    max.saturating_add(max / 10).saturating_add(1)
}

fn truncate(label: &str) -> String {
    truncate_to(label, MAX_LABEL_CHARS)
}

/// Cuts on characters, not bytes, so multi-byte names cannot cause a panic.
fn truncate_to(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut cut: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Thousands separators, because reviewers compare magnitudes at a glance.
fn format_count(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Black or white text, whichever reads better on the segment's colour.
fn text_on(background: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = background;
    let luminance = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    if luminance > 150.0 {
        BLACK
    } else {
        WHITE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal well-formedness check: tags nest and close, attribute values
    /// are quoted, and every `&` starts a predefined entity or a character
    /// reference. Enough to catch unescaped labels without an XML parser.
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg.trim_start();
        if rest.starts_with("<?xml") {
            let end = rest.find("?>").expect("unterminated prolog");
            rest = &rest[end + 2..];
        }
        assert!(rest.trim_start().starts_with("<svg"), "no <svg root");
        let mut seen_root = false;
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open]);
            let close = rest[open..].find('>').expect("unterminated tag") + open;
            let tag = &rest[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched tag");
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
                assert!(
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                    "bad tag name {name:?}"
                );
                assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes");
                assert!(!tag[name.len()..].contains('<'), "raw < in attributes");
                check_text(tag);
                if stack.is_empty() {
                    assert!(!seen_root, "more than one root element");
                    seen_root = true;
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed tags: {stack:?}");
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
    }

    fn check_text(text: &str) {
        assert!(
            !text.contains('>') || !text.contains('<'),
            "raw markup in text"
        );
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let ok = ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;", "&#"]
                .iter()
                .any(|e| entity.starts_with(e));
            assert!(ok, "bare & at {:?}", &entity[..entity.len().min(12)]);
        }
    }

    fn assert_chart(svg: &str, title: &str) {
        assert!(
            svg.trim_start().starts_with("<svg"),
            "not an svg: {svg:.80}"
        );
        assert!(svg.contains(title), "title missing");
        assert_well_formed(svg);
    }

    fn days(n: usize) -> Vec<String> {
        (0..n)
            .map(|d| format!("2026-12-{:02}", d % 31 + 1))
            .collect()
    }

    #[test]
    fn stacked_bars_normal() {
        let buckets = days(7);
        let series = vec![
            ("allow", vec![120, 80, 95, 0, 60, 70, 1500]),
            ("redact", vec![30, 20, 25, 0, 10, 15, 40]),
            ("local", vec![5, 5, 5, 0, 5, 5, 5]),
            ("block", vec![1, 0, 2, 0, 0, 3, 0]),
        ];
        let svg = stacked_bars("Actions per day", &buckets, &series);
        assert_chart(&svg, "Actions per day");
        assert!(svg.contains("allow (1,925)"));
        assert!(!svg.contains("no data"));
        for hex in ["#0072B2", "#E69F00", "#009E73", "#D55E00"] {
            assert!(svg.contains(hex), "missing series colour {hex}");
        }
    }

    #[test]
    fn stacked_bars_empty() {
        let none: Vec<String> = Vec::new();
        let svg = stacked_bars("Actions per day", &none, &[("allow", vec![])]);
        assert_chart(&svg, "Actions per day");
        assert!(svg.contains("no data"));

        let zeros = stacked_bars("Zeros", &days(3), &[("allow", vec![0, 0, 0])]);
        assert_chart(&zeros, "Zeros");
        assert!(zeros.contains("no data"));

        let no_series = stacked_bars("No series", &days(3), &[]);
        assert!(no_series.contains("no data"));
    }

    #[test]
    fn stacked_bars_sixty_buckets_thins_labels() {
        let buckets: Vec<String> = (0..60).map(|h| format!("12-01 {:02}h", h % 24)).collect();
        let counts: Vec<u64> = (0..60).map(|i| i * 7 % 13 + 1).collect();
        let svg = stacked_bars(
            "Hourly",
            &buckets,
            &[("allow", counts.clone()), ("block", counts)],
        );
        assert_chart(&svg, "Hourly");
        let shown = buckets
            .iter()
            .filter(|b| svg.contains(&format!(">\n{b}\n<")))
            .count();
        assert!(shown >= 5, "too few labels: {shown}");
        assert!(
            !svg.contains(&format!(">\n{}\n<", buckets[1])),
            "every label shown"
        );
    }

    #[test]
    fn stacked_bars_short_series_is_zero_filled() {
        let svg = stacked_bars("Short", &days(5), &[("allow", vec![3])]);
        assert_chart(&svg, "Short");
        assert!(!svg.contains("no data"));
    }

    #[test]
    fn horizontal_bars_normal_and_order() {
        let items = vec![
            ("EMAIL".to_string(), 1200),
            ("a-rather-long-rule-identifier-of-forty-c".to_string(), 300),
            ("IBAN".to_string(), 7),
        ];
        let svg = horizontal_bars("Entities by type", &items);
        assert_chart(&svg, "Entities by type");
        assert!(svg.contains("1,200"));
        let email = svg.find(">\nEMAIL\n<").expect("label");
        let iban = svg.find(">\nIBAN\n<").expect("label");
        // Same text anchor, so compare the y of the two labels.
        let y_of = |at: usize| {
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let y = tag.split("y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse::<i32>().unwrap()
        };
        assert!(y_of(email) < y_of(iban), "largest should be on top");
    }

    #[test]
    fn horizontal_bars_empty_and_capped() {
        let svg = horizontal_bars("Top rules", &[]);
        assert_chart(&svg, "Top rules");
        assert!(svg.contains("no data"));

        let zeros = horizontal_bars("Zero rules", &[("r".to_string(), 0)]);
        assert!(zeros.contains("no data"));

        let many: Vec<(String, u64)> = (0..60).map(|i| (format!("rule-{i}"), 100 - i)).collect();
        let svg = horizontal_bars("Top rules", &many);
        assert_chart(&svg, "Top rules");
        assert!(svg.contains(">\nrule-14\n<"));
        assert!(!svg.contains(">\nrule-15\n<"));
    }

    #[test]
    fn shares_normal_and_empty() {
        let svg = shares(
            "Where prompts went",
            &[("on-premise", 750), ("cloud", 200), ("blocked", 50)],
        );
        assert_chart(&svg, "Where prompts went");
        assert!(svg.contains("on-premise: 750 (75.0%)"));
        assert!(svg.contains("blocked: 50 (5.0%)"));

        let empty = shares("Where prompts went", &[]);
        assert_chart(&empty, "Where prompts went");
        assert!(empty.contains("no data"));

        let zeros = shares("Zeros", &[("cloud", 0), ("blocked", 0)]);
        assert!(zeros.contains("no data"));
    }

    #[test]
    fn sixty_buckets_and_huge_counts_do_not_panic() {
        let buckets = days(60);
        let big = vec![u64::MAX / 2; 60];
        let svg = stacked_bars("Big", &buckets, &[("a", big.clone()), ("b", big)]);
        assert_chart(&svg, "Big");
        let svg = horizontal_bars("Big", &[("x".into(), u64::MAX)]);
        assert_chart(&svg, "Big");
        let svg = shares("Big", &[("x", u64::MAX), ("y", u64::MAX)]);
        assert_chart(&svg, "Big");
    }

    #[test]
    fn labels_are_xml_escaped() {
        let nasty = r#"a<b&"c""#;
        let escaped = "a&lt;b&amp;&quot;c&quot;";
        let outputs = [
            stacked_bars(nasty, &[nasty.to_string()], &[(nasty, vec![3])]),
            horizontal_bars(nasty, &[(nasty.to_string(), 3)]),
            shares(nasty, &[(nasty, 3)]),
            stacked_bars(nasty, &[], &[]),
        ];
        for svg in outputs {
            assert!(!svg.contains("<b"), "raw label leaked into the SVG");
            assert!(svg.contains(escaped), "label not escaped");
            assert!(!svg.contains("&amp;lt;"), "label escaped twice");
            assert_well_formed(&svg);
        }
    }

    #[test]
    fn truncation_is_char_safe() {
        let label = "é".repeat(100);
        assert_eq!(truncate(&label).chars().count(), MAX_LABEL_CHARS);
        assert_eq!(format_count(1234567), "1,234,567");
        assert_eq!(format_count(0), "0");
    }
}
