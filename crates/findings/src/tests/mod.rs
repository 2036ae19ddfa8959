//! Tests of the rules and the policy file: fixtures, one firing and one quiet case per rule, determinism.

mod fixtures;
mod policy;
mod rules;
