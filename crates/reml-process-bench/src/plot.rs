//! The SVG plots of the growth measures, drawn with `plotters` (SVG backend only: no fonts
//! are loaded, the text is left to the SVG viewer).

use std::path::Path;

use plotters::prelude::*;

/// One line of a plot: its label and its points (x, median µs).
pub struct Series {
    /// Shown in the legend.
    pub label: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
}

const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Writes a line plot of `series` (y: spawn+wait median, µs, on a logarithmic axis) to
/// `path` (an SVG file; its directory is created).
///
/// # Errors
/// The reason the file cannot be written.
pub fn write(path: &Path, title: &str, x_label: &str, series: &[Series]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let pts = || series.iter().flat_map(|s| s.points.iter().copied());
    let x_max = pts().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    // A logarithmic y axis: a `fork` of a 2 GiB parent is a hundred times slower than the
    // rest, which a linear axis would flatten into one line.
    let y_max = pts().map(|p| p.1).fold(1.0, f64::max) * 1.3;
    let y_min = pts()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(y_max / 2.0)
        * 0.75;
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, (y_min..y_max).log_scale())
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("spawn + wait, median µs (log scale)")
        .draw()
        .map_err(|x| e(&x))?;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .map_err(|x| e(&x))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    eprintln!("plot written: {}", path.display());
    Ok(())
}
