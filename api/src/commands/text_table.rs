//! Plain-text tables with left-aligned columns (drift and import summaries).

/// Renders `header`, a rule and `rows` as columns separated by two spaces, every line ending
/// in a newline.
pub fn render_text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(
        &header
            .iter()
            .map(|title| (*title).to_owned())
            .collect::<Vec<_>>(),
    );
    text.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1)));
    text.push('\n');
    for row in rows {
        text.push_str(&line(row));
    }
    text
}
