//! Rate curves as an SVG: budget against ACC_reid, and budget against reconstruction error
//! with the Gaussian bound.

use super::Report;
use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// Draw the report into an SVG string.
pub fn svg(r: &Report) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (left, right) = root.split_horizontally(500);
        let xs: Vec<f64> = r.rates.iter().map(|x| (x.budget as f64).log2()).collect();
        let (x0, x1) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min) - 0.3,
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 0.3,
        );
        let label = |v: &f64| format!("{}", 2f64.powf(*v).round());

        let mut acc = ChartBuilder::on(&left)
            .caption("re-ID accuracy vs rate", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, 0.0..1.0)
            .map_err(|e| anyhow!("{e}"))?;
        acc.configure_mesh()
            .x_desc("budget (bytes, log scale)")
            .y_desc("ACC_reid")
            .x_label_formatter(&label)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let pts: Vec<(f64, f64)> = r
            .rates
            .iter()
            .zip(&xs)
            .filter_map(|(x, &lx)| x.scores.map(|s| (lx, s.acc_reid)))
            .collect();
        acc.draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label("naicfc")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        acc.draw_series(pts.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
            .map_err(|e| anyhow!("{e}"))?;
        if let Some(u) = r.uncompressed {
            acc.draw_series(LineSeries::new(
                vec![(x0, u.acc_reid), (x1, u.acc_reid)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label("uncompressed")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        acc.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;

        let ymax = r
            .rates
            .iter()
            .map(|x| x.dr.max(x.bound_rmse))
            .fold(0.0, f64::max)
            * 1.1;
        let mut err = ChartBuilder::on(&right)
            .caption("reconstruction error vs rate", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, 0.0..ymax.max(1e-9))
            .map_err(|e| anyhow!("{e}"))?;
        err.configure_mesh()
            .x_desc("budget (bytes, log scale)")
            .y_desc("error (L2)")
            .x_label_formatter(&label)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let dr: Vec<(f64, f64)> = r.rates.iter().zip(&xs).map(|(x, &lx)| (lx, x.dr)).collect();
        let bound: Vec<(f64, f64)> = r
            .rates
            .iter()
            .zip(&xs)
            .map(|(x, &lx)| (lx, x.bound_rmse))
            .collect();
        err.draw_series(LineSeries::new(dr.clone(), RED.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label("naicfc dr")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        err.draw_series(dr.iter().map(|&p| Circle::new(p, 4, RED.filled())))
            .map_err(|e| anyhow!("{e}"))?;
        err.draw_series(LineSeries::new(bound, BLACK.stroke_width(1)))
            .map_err(|e| anyhow!("{e}"))?
            .label("Gaussian bound (rmse)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        err.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(out)
}
