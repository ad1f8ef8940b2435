//! PawfectMatch API tests.
