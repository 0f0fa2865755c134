//! Engine tests: assignment, release, routing, the API's role table, concurrency.
//! Each file is one feature; each uses the shared [`support::Fixture`].

mod api_roles;
mod assignment;
mod concurrency;
mod http_hygiene;
mod lifecycle;
mod outbound;
mod pages;
mod release;
mod routing;
mod scanner_cache;
mod setup;
mod support;
