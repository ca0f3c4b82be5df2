<?php
/**
 * Plugin Name: backrank test switches
 * Description: Lets the tests reproduce what real sites do: a security plugin that closes the
 * REST API (option backrank_test_rest_closed: a 404 HTML page instead of JSON; 'login': a 401
 * for anyone not logged in, as the "Disable REST API" plugins do), and a server
 * error on saving one synced pattern (option backrank_test_fail_slug: that slug gets a 500), and
 * a slow server (option backrank_test_slow_ms: every pattern save waits that long).
 */
add_filter('rest_pre_insert_wp_block', function ($prepared, $request) {
    $slow = (int) get_option('backrank_test_slow_ms');
    if ($slow > 0) {
        usleep($slow * 1000);
    }
    $slug = get_option('backrank_test_fail_slug');
    if (!$slug) {
        return $prepared;
    }
    $existing = empty($prepared->ID) ? null : get_post($prepared->ID);
    $target = $existing ? $existing->post_name : ($prepared->post_name ?? '');
    if ($target === $slug) {
        return new WP_Error('backrank_test_failure', 'Simulated database error', ['status' => 500]);
    }
    return $prepared;
}, 10, 2);
add_filter('rest_authentication_errors', function ($result) {
    if (get_option('backrank_test_rest_closed') === 'login' && !is_user_logged_in()) {
        return new WP_Error('rest_cannot_access', 'Only authenticated users can access the REST API.', ['status' => 401]);
    }
    return $result;
}, 99);
add_action('parse_request', function ($wp) {
    $closed = get_option('backrank_test_rest_closed');
    if (!$closed || $closed === 'login') {
        return;
    }
    if (empty($wp->query_vars['rest_route'])) {
        return;
    }
    status_header(404);
    header('Content-Type: text/html; charset=UTF-8');
    echo "<!doctype html><html><head><title>Page not found</title></head>"
        . "<body><h1>Not found</h1><p>The REST API is disabled on this site.</p></body></html>";
    exit;
}, 0);

if (!function_exists('wp_mail')) {
    /** A throwaway site sends no mail (the installer would try to tell the admin). */
    function wp_mail($to, $subject, $message, $headers = '', $attachments = array())
    {
        return true;
    }
}
