//! How long a meeting's paper pack takes (issue: "15 referrals and 60
//! attachment pages ... takes seconds, not minutes"). Not a test: run with
//! `cargo bench -p jointpanel-documents`. The baseline, measured in the same
//! run, is loading and saving the finished pack with the PDF library alone
//! (what any PDF work costs); the ratios say what composing and stamping add.

use jp_documents::{Block, Part, Stamp, compose, stamp};
use std::time::{Duration, Instant};

fn referral(n: usize) -> Vec<Block> {
    let mut b = vec![
        Block::PageBreak,
        Block::Title(format!("Item {n}: Child NC-{n:06}")),
    ];
    for section in 0..9 {
        b.push(Block::Heading(format!("Section {}", section + 1)));
        for q in 0..6 {
            b.push(Block::Field(
                format!("Question {}", q + 1),
                "The family has managed with support from the short-break service, but the needs described in the assessment have grown over the last year and the current package no longer meets them. ".repeat(2),
            ));
        }
    }
    b
}

fn attachment(pages: usize) -> Vec<u8> {
    let blocks: Vec<Block> = (0..pages)
        .flat_map(|p| {
            let mut v = vec![Block::Title(format!("Assessment, page {}", p + 1))];
            v.extend((0..30).map(|l| {
                Block::Para(format!(
                    "Line {l} of the assessor's observations, with dates and the people present."
                ))
            }));
            v.push(Block::PageBreak);
            v
        })
        .collect();
    compose(&[Part::Text(blocks)], &mut |_, _| {})
        .map(|c| c.pdf)
        .unwrap_or_default()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // 15 referrals, each with one 4-page PDF: 60 attachment pages.
    let attachments: Vec<Vec<u8>> = (0..15).map(|_| attachment(4)).collect();
    let texts: Vec<Vec<Block>> = (1..=15).map(referral).collect();
    let agenda = vec![Block::Title("Agenda".into())];
    let runs = 7;
    let (mut composing, mut stamping, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    let mut pages = 0;
    for _ in 0..runs {
        let mut parts = vec![Part::Text(agenda.clone())];
        for (t, a) in texts.iter().zip(&attachments) {
            parts.push(Part::Text(t.clone()));
            parts.push(Part::Pdf {
                title: "assessment.pdf",
                bytes: a,
            });
        }
        let t = Instant::now();
        let mut progress_calls = 0;
        let pack = compose(&parts, &mut |_, _| progress_calls += 1).expect("compose");
        composing.push(t.elapsed());
        assert_eq!(progress_calls, parts.len());
        pages = pack.pages;
        let t = Instant::now();
        let copy = stamp(
            &pack.pdf,
            &Stamp {
                recipient: "Niamh Corrigan".into(),
                date: "9 May 2027".into(),
            },
        )
        .expect("stamp");
        stamping.push(t.elapsed());
        assert!(copy.len() > pack.pdf.len());
        let t = Instant::now();
        let mut doc = lopdf::Document::load_mem(&pack.pdf).expect("load");
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("save");
        baseline.push(t.elapsed());
    }
    let (c, s, b) = (median(composing), median(stamping), median(baseline));
    println!(
        "paper pack: 15 referrals + 60 attachment pages = {pages} pages, median of {runs} runs"
    );
    println!("{:<44} {:>10}", "what", "time");
    println!(
        "{:<44} {:>8.1}ms",
        "baseline: load and save the pack (lopdf)",
        b.as_secs_f64() * 1e3
    );
    println!(
        "{:<44} {:>8.1}ms  ({:.1}x baseline)",
        "compose (layout + merge + compress)",
        c.as_secs_f64() * 1e3,
        c.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "{:<44} {:>8.1}ms  ({:.1}x baseline)",
        "stamp one recipient's copy",
        s.as_secs_f64() * 1e3,
        s.as_secs_f64() / b.as_secs_f64()
    );
}
