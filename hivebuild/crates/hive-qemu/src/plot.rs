//! A picture of boot latencies for people: every sample of every image, cold and warm, on
//! one axis, with each image's budget as a line. SVG, written with `plotters`.

use std::path::Path;

use plotters::prelude::*;

/// One image's samples and budget.
pub struct Series<'a> {
    pub name: &'a str,
    pub cold: &'a [f64],
    pub warm: &'a [f64],
    pub budget_ms: Option<f64>,
}

pub fn write_svg(path: &Path, title: &str, series: &[Series<'_>]) -> Result<(), String> {
    let top = series
        .iter()
        .flat_map(|s| s.cold.iter().chain(s.warm).copied().chain(s.budget_ms))
        .fold(1.0_f64, f64::max)
        * 1.15;
    let count = series.len();
    let width = u32::try_from(160 + 140 * count).unwrap_or(1200);
    let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    #[expect(clippy::cast_precision_loss, reason = "a handful of images")]
    let right = count as f64 - 0.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5_f64..right, 0.0_f64..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(count.max(1))
        .x_label_formatter(&|x| {
            let index = x.round();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "an index on the axis"
            )]
            let name = if (x - index).abs() < 0.01 && index >= 0.0 {
                series.get(index as usize).map_or("", |s| s.name)
            } else {
                ""
            };
            name.to_owned()
        })
        .y_desc("ms from spawn (cold) or resume (warm) to ready")
        .draw()
        .map_err(|e| e.to_string())?;
    for (index, series) in series.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "a handful of images")]
        let x = index as f64;
        let cold = chart
            .draw_series(
                series
                    .cold
                    .iter()
                    .map(|y| Circle::new((x - 0.15, *y), 3, BLUE.filled())),
            )
            .map_err(|e| e.to_string())?;
        if index == 0 {
            cold.label("cold")
                .legend(|(x, y)| Circle::new((x, y), 3, BLUE.filled()));
        }
        let warm = chart
            .draw_series(
                series
                    .warm
                    .iter()
                    .map(|y| Circle::new((x + 0.15, *y), 3, RED.filled())),
            )
            .map_err(|e| e.to_string())?;
        if index == 0 {
            warm.label("warm")
                .legend(|(x, y)| Circle::new((x, y), 3, RED.filled()));
        }
        if let Some(budget) = series.budget_ms {
            chart
                .draw_series(LineSeries::new(
                    [(x - 0.4, budget), (x + 0.4, budget)],
                    BLACK.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
