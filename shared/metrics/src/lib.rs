//! The Prometheus text exposition format (version 0.0.4): metric families of counters, gauges and
//! histograms rendered as `# HELP` / `# TYPE` lines and samples.
//!
//! Contract: no I/O. The shell hands in what it counted (for a histogram: the cumulative count at each upper
//! bound); this crate names, escapes and orders it so that any Prometheus text parser reads it back.

use std::fmt::Write;

/// The type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Label names and values of one sample.
pub type Labels = Vec<(&'static str, String)>;

/// One line of a family: its name suffix (`_bucket`, `_sum`, `_count`, or none), labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    suffix: &'static str,
    labels: Labels,
    value: f64,
}

/// A metric family: a name, its help text, its type and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<Sample>,
}

impl Family {
    /// A counter's name ends in `_total` (the exposition format's rule for counters).
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    /// A counter's or gauge's sample.
    pub fn add(&mut self, labels: Labels, value: f64) {
        self.samples.push(Sample {
            suffix: "",
            labels,
            value,
        });
    }

    /// A histogram's samples for one label set: `cumulative[i]` observations were at most `bounds[i]`;
    /// `count` in all (the `+Inf` bucket), summing to `sum`.
    pub fn observe(
        &mut self,
        labels: Labels,
        bounds: &[f64],
        cumulative: &[u64],
        sum: f64,
        count: u64,
    ) {
        for (bound, n) in bounds.iter().zip(cumulative) {
            let mut with_le = labels.clone();
            with_le.push(("le", number(*bound)));
            self.samples.push(Sample {
                suffix: "_bucket",
                labels: with_le,
                value: *n as f64,
            });
        }
        let mut inf = labels.clone();
        inf.push(("le", "+Inf".to_string()));
        self.samples.push(Sample {
            suffix: "_bucket",
            labels: inf,
            value: count as f64,
        });
        self.samples.push(Sample {
            suffix: "_sum",
            labels: labels.clone(),
            value: sum,
        });
        self.samples.push(Sample {
            suffix: "_count",
            labels,
            value: count as f64,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// A value as the format writes it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text with `\` and newlines escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The families in the text format, each with its `# HELP` and `# TYPE` lines (families without samples
/// too: a scraper then knows the metric exists).
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        for sample in &family.samples {
            out.push_str(family.name);
            out.push_str(sample.suffix);
            if !sample.labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in sample.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape(value));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(sample.value));
        }
    }
    out
}

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_help_type_and_escaped_labels() {
        let mut f = Family::new(
            "de_requests_total",
            Kind::Counter,
            "Requests.\nAll of them \\ here",
        );
        f.add(vec![("model", "a\"b\\c\nd".into())], 3.0);
        f.add(vec![], 0.5);
        assert_eq!(
            render(&[f]),
            "# HELP de_requests_total Requests.\\nAll of them \\\\ here\n\
             # TYPE de_requests_total counter\n\
             de_requests_total{model=\"a\\\"b\\\\c\\nd\"} 3\n\
             de_requests_total 0.5\n"
        );
    }

    #[test]
    fn histograms_have_cumulative_buckets_inf_sum_and_count() {
        let mut h = Family::new("de_latency_seconds", Kind::Histogram, "Latency.");
        h.observe(
            vec![("instance_id", "ins_1".into())],
            &[0.1, 1.0],
            &[2, 5],
            3.25,
            6,
        );
        let text = render(&[h]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "# HELP de_latency_seconds Latency.",
                "# TYPE de_latency_seconds histogram",
                "de_latency_seconds_bucket{instance_id=\"ins_1\",le=\"0.1\"} 2",
                "de_latency_seconds_bucket{instance_id=\"ins_1\",le=\"1\"} 5",
                "de_latency_seconds_bucket{instance_id=\"ins_1\",le=\"+Inf\"} 6",
                "de_latency_seconds_sum{instance_id=\"ins_1\"} 3.25",
                "de_latency_seconds_count{instance_id=\"ins_1\"} 6",
            ]
        );
    }

    #[test]
    fn numbers_are_written_as_the_format_reads_them() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(0.0025), "0.0025");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1e20), "100000000000000000000");
    }

    #[test]
    fn empty_families_still_declare_themselves() {
        let f = Family::new("de_images_total", Kind::Counter, "Images.");
        assert!(f.is_empty());
        assert_eq!(
            render(&[f]),
            "# HELP de_images_total Images.\n# TYPE de_images_total counter\n"
        );
    }
}
