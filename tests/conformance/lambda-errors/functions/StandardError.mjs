export const handler = function(event, context, callback) {
    callback(new Error("Malformed input ..."));
};
