export const handler = function(event, context, callback) {
    if (event.version)
        callback(null, 'Hello, World! (' + event.version + ')' );
    else
        callback(null, "Hello, world! (v-unknown)");  
};
