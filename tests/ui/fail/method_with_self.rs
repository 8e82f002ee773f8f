use axum_identity::{login_required, Context};

struct Pages;

impl Pages {
    #[login_required]
    async fn index(&self, context: Context) {
        let _ = context;
    }
}

fn main() {}
