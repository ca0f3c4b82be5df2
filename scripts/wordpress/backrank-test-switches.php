<?php
/**
 * Plugin Name: backrank test switches
 * Description: Lets the tests reproduce what real sites do: a security plugin that closes the
 * REST API (option backrank_test_rest_closed: a 404 HTML page instead of JSON).
 */
add_action('parse_request', function ($wp) {
    if (!get_option('backrank_test_rest_closed')) {
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
