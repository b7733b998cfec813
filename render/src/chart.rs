//! The weekly summary's chart: cadres with a log per district per day of the week, one
//! line per district, as a PNG. Text is drawn with the font the caller hands in (a CJK
//! font such as WenQuanYi Micro Hei), because a font without Chinese glyphs silently draws
//! nothing for the labels.

use crate::RenderError;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Mutex;

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

/// Draws the chart as PNG bytes. `font` is a TrueType/OpenType font (or collection) with
/// CJK glyphs, kept for the life of the process.
pub fn week_png(chart: &WeekChart, font: &'static [u8]) -> Result<Vec<u8>, RenderError> {
    let rgb = week_rgb(chart, font)?;
    encode_png(&rgb, WIDTH, HEIGHT)
}

/// The chart as raw RGB pixels (`WIDTH` × `HEIGHT` × 3), for tests that look for ink.
pub fn week_rgb(chart: &WeekChart, font: &'static [u8]) -> Result<Vec<u8>, RenderError> {
    register(font)?;
    let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(chart, &mut buf).map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(buf)
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

    /// The font CI and README's setup install (Debian's fonts-wqy-microhei).
    const FONT_PATH: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

    fn font() -> &'static [u8] {
        let bytes = std::fs::read(FONT_PATH)
            .unwrap_or_else(|e| panic!("{FONT_PATH}: {e}; install fonts-wqy-microhei"));
        Box::leak(bytes.into_boxed_slice())
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
        let with = week_rgb(&chart("上周各区县每日记实人数"), f).unwrap();
        // The same layout (a caption of one blank) without the characters.
        let without = week_rgb(&chart(" "), f).unwrap();
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
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(std::env::temp_dir().join("zhucun-week-chart.png"), &png).unwrap();
    }

    #[test]
    fn bytes_that_are_no_font_are_an_error() {
        assert!(week_png(&chart("x"), b"not a font").is_err());
    }
}
