//! The weekly summary's chart: cadres with a log per district per day of the week, one
//! line per district, as a PNG. Text is drawn with a CJK font: the one shipped in the
//! binary ([`FONT`], a GB 2312 subset of WenQuanYi Micro Hei) or one the operator names.
//! A font without a character draws nothing for it, so such characters are drawn as □ and
//! named in [`Png::missing`]: the reader is told, the chart is never silently blank.

use crate::RenderError;
use ab_glyph::Font as _;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Mutex;

/// The shipped chart font (see `render/fonts/README.md`: origin, licence, how it was made).
pub const FONT: &[u8] = include_bytes!("../fonts/wqy-microhei-gb2312.ttf");

/// What stands for a character the font lacks.
const MISSING: char = '□';

/// The family name the chart's font is registered under.
const FAMILY: &str = "zhucun-cjk";

/// The font last registered, so the same bytes are not parsed again for every chart.
static REGISTERED: Mutex<Option<usize>> = Mutex::new(None);

/// What the chart shows: labels in the reader's language, counts per district per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekChart {
    pub title: String,
    pub y_label: String,
    /// Seven labels, Monday first.
    pub day_labels: Vec<String>,
    /// Per district: its (short) name and the count of each day, Monday first.
    pub series: Vec<(String, [u32; 7])>,
}

fn register(font: &'static [u8]) -> Result<(), RenderError> {
    let mut last = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    let key = font.as_ptr() as usize ^ font.len();
    if *last != Some(key) {
        plotters::style::register_font(FAMILY, FontStyle::Normal, font)
            .map_err(|_| RenderError::Chart("the chart font cannot be read".into()))?;
        *last = Some(key);
    }
    Ok(())
}

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;

/// A drawn chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    pub bytes: Vec<u8>,
    /// Characters of the labels the font has no glyph for (drawn as □), in order of first
    /// appearance: the caption should name them.
    pub missing: Vec<char>,
}

/// Draws the chart as a PNG. `font` is a TrueType/OpenType font (or collection) with CJK
/// glyphs, kept for the life of the process.
pub fn week_png(chart: &WeekChart, font: &'static [u8]) -> Result<Png, RenderError> {
    let (rgb, missing) = week_rgb(chart, font)?;
    Ok(Png {
        bytes: encode_png(&rgb, WIDTH, HEIGHT)?,
        missing,
    })
}

/// The chart as raw RGB pixels (`WIDTH` × `HEIGHT` × 3), for tests that look for ink, and
/// the characters the font lacks.
pub fn week_rgb(
    chart: &WeekChart,
    font: &'static [u8],
) -> Result<(Vec<u8>, Vec<char>), RenderError> {
    let glyphs = parse(font)?;
    register(font)?;
    let mut missing = Vec::new();
    let mut cover = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_whitespace() || glyphs.glyph_id(c).0 != 0 {
                    c
                } else {
                    if !missing.contains(&c) {
                        missing.push(c);
                    }
                    MISSING
                }
            })
            .collect()
    };
    let covered = WeekChart {
        title: cover(&chart.title),
        y_label: cover(&chart.y_label),
        day_labels: chart.day_labels.iter().map(|l| cover(l)).collect(),
        series: chart
            .series
            .iter()
            .map(|(name, counts)| (cover(name), *counts))
            .collect(),
    };
    let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&covered, &mut buf).map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok((buf, missing))
}

/// Checks that `font` can draw the chart: a font (or the first of a collection) that
/// has Chinese glyphs. For the operator's `reports.chart_font`, at start.
pub fn check_font(font: &[u8]) -> Result<(), RenderError> {
    let glyphs = parse(font)?;
    if "周一记实人数".chars().any(|c| glyphs.glyph_id(c).0 == 0) {
        return Err(RenderError::Chart(
            "the font has no Chinese glyphs (e.g. 记实人数)".into(),
        ));
    }
    Ok(())
}

fn parse(font: &[u8]) -> Result<ab_glyph::FontRef<'_>, RenderError> {
    ab_glyph::FontRef::try_from_slice(font)
        .map_err(|_| RenderError::Chart("not a TrueType or OpenType font".into()))
}

fn draw(chart: &WeekChart, buf: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = chart
        .series
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let y_max = top + top.div_ceil(10);
    let font = |size| (FAMILY, size).into_font();
    let mut c = ChartBuilder::on(&root)
        .caption(&chart.title, font(26.0))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.3f64..6.3f64, 0u32..y_max)?;
    let labels = chart.day_labels.clone();
    c.configure_mesh()
        .x_labels(7)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && (0.0..7.0).contains(&i) {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(chart.y_label.as_str())
        .label_style(font(16.0))
        .axis_desc_style(font(16.0))
        .disable_x_mesh()
        .draw()?;
    for (i, (name, counts)) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(
            counts.iter().enumerate().map(|(d, n)| (d as f64, *n)),
            color.stroke_width(3),
        ))?
        .label(name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
        c.draw_series(
            counts
                .iter()
                .enumerate()
                .map(|(d, n)| Circle::new((d as f64, *n), 4, color.filled())),
        )?;
    }
    if !chart.series.is_empty() {
        c.configure_series_labels()
            .label_font(font(16.0))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, RenderError> {
    use png::{ColorType, Encoder};
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, w, h);
    enc.set_color(ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font() -> &'static [u8] {
        FONT
    }

    fn chart(title: &str) -> WeekChart {
        WeekChart {
            title: title.into(),
            y_label: "记实人数".into(),
            day_labels: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
                .map(String::from)
                .to_vec(),
            series: vec![
                ("乌当区".into(), [12, 15, 14, 16, 13, 2, 1]),
                ("花溪区".into(), [8, 9, 11, 10, 12, 0, 3]),
            ],
        }
    }

    /// Dark pixels in the title band (rows 0..40, columns 100..860), where only the
    /// caption is drawn.
    fn ink_in_title(rgb: &[u8]) -> usize {
        (0..40u32)
            .flat_map(|y| (100..860u32).map(move |x| ((y * WIDTH + x) * 3) as usize))
            .filter(|&i| rgb[i..i + 3].iter().all(|&v| v < 128))
            .count()
    }

    #[test]
    fn a_chinese_title_puts_ink_on_the_image() {
        let f = font();
        let (with, missing) = week_rgb(&chart("上周各区县每日记实人数"), f).unwrap();
        assert!(missing.is_empty(), "{missing:?}");
        // The same layout (a caption of one blank) without the characters.
        let (without, _) = week_rgb(&chart(" "), f).unwrap();
        assert_eq!(
            ink_in_title(&without),
            0,
            "nothing else is drawn in the title band"
        );
        assert!(ink_in_title(&with) > 200, "the Chinese title was not drawn");
    }

    #[test]
    fn the_png_is_a_png_of_the_size() {
        let png = week_png(&chart("上周各区县每日记实人数（2026-W48）"), font()).unwrap();
        assert_eq!(&png.bytes[1..4], b"PNG");
        std::fs::write(
            std::env::temp_dir().join("zhucun-week-chart.png"),
            &png.bytes,
        )
        .unwrap();
    }

    #[test]
    fn bytes_that_are_no_font_are_an_error() {
        assert!(week_png(&chart("x"), b"not a font").is_err());
        assert!(check_font(b"not a font").is_err());
        assert!(check_font(FONT).is_ok());
    }

    #[test]
    fn a_font_without_chinese_glyphs_is_refused_at_start() {
        // DejaVu and the like: a real font, but 记 would be drawn as nothing.
        let latin = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        if let Ok(bytes) = latin {
            let err = check_font(&bytes).unwrap_err().to_string();
            assert!(err.contains("Chinese"), "{err}");
        }
    }

    #[test]
    fn characters_the_font_lacks_are_drawn_as_boxes_and_named() {
        // 甪 (甪直镇) and 𬌗 are outside GB 2312: the shipped subset has no glyph for them.
        let mut c = chart("上周各区县每日记实人数");
        c.series[0].0 = "甪直镇".into();
        c.series[1].0 = "𬌗区".into();
        let (rgb, missing) = week_rgb(&c, FONT).unwrap();
        assert_eq!(missing, vec!['甪', '𬌗']);
        // The legend still shows a name: □直镇 draws ink where 甪 would have drawn none.
        let (blank, _) = week_rgb(&chart("上周各区县每日记实人数"), FONT).unwrap();
        assert_ne!(rgb, blank);
        let png = week_png(&c, FONT).unwrap();
        std::fs::write(
            std::env::temp_dir().join("zhucun-week-chart-missing.png"),
            png.bytes,
        )
        .unwrap();
    }
}
