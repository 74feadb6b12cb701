//! What every applet runs on: the multicall front, option parsing, the
//! context an applet runs with, and the errors and messages it reports.

pub mod args;
pub mod ctx;
pub mod message;
pub mod multicall;
