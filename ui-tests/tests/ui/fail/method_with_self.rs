use axum_identity::{Context, login_required};

struct Pages;

impl Pages {
    #[login_required]
    async fn index(&self, context: Context) {
        let _ = context;
    }
}

fn main() {}
