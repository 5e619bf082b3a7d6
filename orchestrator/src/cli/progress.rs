//! Progress bars for long commands, drawn on stderr only when it is a terminal (never in
//! pipes, logs or tests).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use warden_workers::pipeline::Progress;

#[derive(Debug)]
pub struct Bars {
    bar: ProgressBar,
}

impl Bars {
    pub fn new() -> Bars {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bars {
            bar: ProgressBar::with_draw_target(None, target),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        let style = if total > 0 {
            ProgressStyle::with_template(
                "{msg:32} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
            )
        } else {
            ProgressStyle::with_template("{msg:32} {human_pos} {per_sec}")
        };
        if let Ok(style) = style {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_message(name.to_string());
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
}
