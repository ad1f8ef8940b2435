//! PawfectMatch's rules: who may do what, and how often.

pub mod access;
