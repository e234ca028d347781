//! The revenue rules as executable examples: one test per rule, named after it
//! (shared/revenue-rules.md), plus the §7 worked example as a conformance test.

mod audit_gaps;
mod cash;
mod discounts;
mod item_amounts;
mod month;
mod movements;
mod mrr_and_churn_reports;
mod properties;
mod rates;
mod read_side;
mod statuses_and_timelines;
mod worked_example_section_7;
