//! A pack composed of text parts and a PDF attachment, stamped for a
//! recipient: every page carries the marking, the name and the date.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

use jp_documents::{Block, MARKING, Part, Stamp, compose, page_texts, stamp};

fn attachment(pages: usize) -> Vec<u8> {
    let blocks: Vec<Block> = (0..pages)
        .flat_map(|n| {
            [
                Block::Heading(format!("Assessment page {}", n + 1)),
                Block::Para("Observations by the occupational therapist.".into()),
                Block::PageBreak,
            ]
        })
        .collect();
    compose(&[Part::Text(blocks)], &mut |_, _| {}).unwrap().pdf
}

#[test]
fn every_page_of_the_stamped_pack_names_its_recipient() {
    let att = attachment(3);
    let broken = b"%PDF-1.7 this is not really a PDF".to_vec();
    let mut seen = Vec::new();
    let parts = [
        Part::Text(vec![
            Block::Title("Agenda".into()),
            Block::Field(
                "Item 1".into(),
                "Child JP-0001 – review, £12,345.67 a year".into(),
            ),
        ]),
        Part::Pdf {
            title: "assessment.pdf",
            bytes: &att,
        },
        Part::Pdf {
            title: "broken.pdf",
            bytes: &broken,
        },
    ];
    let pack = compose(&parts, &mut |done, total| seen.push((done, total))).unwrap();
    assert_eq!(seen, vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(pack.pages, 1 + 3 + 1);
    assert_eq!(pack.unreadable, vec!["broken.pdf".to_owned()]);

    let copy = stamp(
        &pack.pdf,
        &Stamp {
            recipient: "Niamh Corrigan".into(),
            date: "9 May 2027".into(),
        },
    )
    .unwrap();
    let texts = page_texts(&copy).unwrap();
    assert_eq!(texts.len(), 5);
    for (n, t) in texts.iter().enumerate() {
        assert!(t.contains(MARKING), "page {}: {t}", n + 1);
        assert!(t.contains("Niamh Corrigan"), "page {}: {t}", n + 1);
        assert!(t.contains("9 May 2027"), "page {}: {t}", n + 1);
        assert!(
            t.contains(&format!("page {} of 5", n + 1)),
            "page {}: {t}",
            n + 1
        );
    }
    assert!(texts[0].contains("£12,345.67"), "{}", texts[0]);
    assert!(texts[2].contains("Assessment page 2"), "{}", texts[2]);
    assert!(
        texts[4].contains("broken.pdf could not be included"),
        "{}",
        texts[4]
    );
}
